import { describe, expect, it } from "vitest";
import type { InterfaceName, Ipv4Address } from "../../compiler/ir.js";
import type { RouterFacts } from "../../plugin/engine/router-apply.js";
import { diagnoseRouterStep, doctorRouterFinding, externalThroughRouter, forwardRouterStatus, routerLines } from "../../plugin/engine/router-report.js";
import { emptyRouterState, type RouterState } from "../../plugin/engine/router-state.js";
import { failedEntry, grantedEntry } from "../../plugin/engine/router-sync.js";
import { resultCode } from "../../plugin/router/result-codes.js";

const NOW = 1_800_000_000_000;
const gateway = "192.168.1.1" as Ipv4Address;
const mac = "192.168.1.20" as Ipv4Address;
const wanted = (port: number) => ({ instance: "web", forward: "ssh", protocol: "tcp" as const, port, allowUpnp: false, interface: "en0" as InterfaceName });
const mapped = (port: number, externalPort = port) =>
  grantedEntry(wanted(port), { via: "nat-pmp", protocol: "tcp", clientAddress: mac, internalPort: port, externalPort, externalAddress: "203.0.113.7" as Ipv4Address, lifetime: 7200, epoch: 9, receivedAt: NOW / 1000, nonce: null, upnp: null }, NOW, 0);
const state = (publicAddress: string, ...entries: RouterState["entries"]): RouterState => ({ ...emptyRouterState(), gateway, clientAddress: mac, publicAddress: publicAddress as Ipv4Address, entries });
const facts = (over: Partial<RouterFacts> = {}): RouterFacts => ({ gateway, clientAddress: mac, problem: null, speaks: { pcp: false, natPmp: true, upnp: null }, externalAddress: "203.0.113.7" as Ipv4Address, ...over });

describe("what status, doctor and diagnose say of the router", () => {
  it("status: each port's mapping with the port the router opened, or the router's refusal", () => {
    const refused = failedEntry(wanted(2223), "the router refused: Not Authorized/Refused (NAT-PMP 2): …", { kind: "refused", via: "nat-pmp", result: resultCode("nat-pmp", 2) }, NOW);
    const status = forwardRouterStatus(state("203.0.113.7", mapped(2222, 40022), refused), "web", "ssh")!;
    expect(routerLines(status, NOW)).toEqual([
      "router: tcp 2222 -> 203.0.113.7:40022 (NAT-PMP, expires in 2h) — the router opened 40022, not 2222",
      "router: tcp 2223 not mapped: the router refused: Not Authorized/Refused (NAT-PMP 2): …",
    ]);
    expect(forwardRouterStatus(state("203.0.113.7", mapped(2222)), "web", "http")).toBeNull();
  });

  it("status and doctor say plainly when the router is behind carrier-grade NAT", () => {
    const status = forwardRouterStatus(state("100.64.0.9", mapped(2222)), "web", "ssh")!;
    expect(routerLines(status, NOW).at(-1)).toMatch(/^router: the router's external address 100\.64\.0\.9 is the ISP's carrier-grade NAT space .* Ask the ISP for a public IPv4 address/);
    expect(doctorRouterFinding(facts({ externalAddress: "100.64.0.9" as Ipv4Address }))).toMatchObject({ level: "warn", detail: expect.stringMatching(/speaks NAT-PMP; .*carrier-grade NAT/) });
  });

  it("doctor: which protocols the gateway speaks, or that it speaks none", () => {
    expect(doctorRouterFinding(facts({ speaks: { pcp: true, natPmp: true, upnp: true } }))).toEqual({ level: "ok", detail: "the gateway 192.168.1.1 speaks PCP, NAT-PMP, UPnP; its external address is 203.0.113.7" });
    expect(doctorRouterFinding(facts({ speaks: { pcp: false, natPmp: false, upnp: null }, externalAddress: null })).detail).toBe("the gateway 192.168.1.1 answers none of PCP and NAT-PMP (UPnP not asked: no forward says `router upnp`)");
    expect(doctorRouterFinding(facts({ gateway: null, problem: "no default route" })).level).toBe("warn");
  });

  it("diagnose: a refused port fails the router step, with the router's code", () => {
    const refused = failedEntry(wanted(2222), "the router refused: NOT_AUTHORIZED (PCP 2): …", null, NOW);
    const step = diagnoseRouterStep(facts(), state("203.0.113.7", refused), "web", "ssh", NOW);
    expect(step).toMatchObject({ level: "fail", detail: "the gateway 192.168.1.1 speaks NAT-PMP; tcp 2222 not mapped: the router refused: NOT_AUTHORIZED (PCP 2): …" });
    expect(diagnoseRouterStep(facts(), null, "web", "ssh", NOW).detail).toBe("the gateway 192.168.1.1 speaks NAT-PMP; not mapped yet");
  });

  it("diagnose --external: the router's address against the echo's is double NAT when they differ", () => {
    const status = forwardRouterStatus(state("203.0.113.7", mapped(2222)), "web", "ssh");
    expect(externalThroughRouter("198.51.100.1", "203.0.113.7", status)?.detail).toMatch(/^double NAT: the router's external address is 203\.0\.113\.7, but the internet sees 198\.51\.100\.1/);
    expect(externalThroughRouter("203.0.113.7", "203.0.113.7", status)).toEqual({ level: "ok", detail: "the internet sees 203.0.113.7; the router maps tcp 203.0.113.7:2222 to the Mac: clients connect there" });
    expect(externalThroughRouter("203.0.113.7", null, null)).toBeNull();
  });
});
