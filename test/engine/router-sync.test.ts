import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { InterfaceName, Ipv4Address } from "../../compiler/ir.js";
import { compileFile } from "../../compiler/pipeline.js";
import { emptyRouterState, type RouterEntry, type RouterState } from "../../plugin/engine/router-state.js";
import { describeRefusal, failedEntry, grantedEntry, MAX_MAPPED_PORTS_PER_FORWARD, planRouterSync, restartSeen, wantedMappings, type RouterPlace, type WantedMapping } from "../../plugin/engine/router-sync.js";
import type { AppliedVm } from "../../plugin/engine/state.js";
import { refusalOf, type Attempt, type GrantedMapping } from "../../plugin/router/mapping.js";
import { resultCode } from "../../plugin/router/result-codes.js";
import { limaYaml } from "./fake-host.js";

const vm = (name: string, ...lines: string[]): AppliedVm => {
  const file = `/lima/${name}/lima.yaml`;
  const spec = compileFile({ vm: name, file, text: limaYaml(...lines) }).spec!;
  return { instance: name, file, address: "192.168.105.2" as Ipv4Address, spec };
};

const gateway = "192.168.1.1" as Ipv4Address;
const mac = "192.168.1.20" as Ipv4Address;
const here: RouterPlace = { ok: true, gateway, clientAddress: mac, interface: "en0" as InterfaceName };
const NOW = 1_800_000_000_000;

const want = (port: number, protocol: "tcp" | "udp" = "tcp"): WantedMapping => ({ instance: "web", forward: "ssh", protocol, port, allowUpnp: false, interface: "en0" as InterfaceName });
const granted = (port: number, via: GrantedMapping["via"] = "pcp", lifetime = 7200): GrantedMapping => ({
  via,
  protocol: "tcp",
  clientAddress: mac,
  internalPort: port,
  externalPort: port,
  externalAddress: "203.0.113.7" as Ipv4Address,
  lifetime,
  epoch: via === "upnp" ? null : 100,
  receivedAt: NOW / 1000,
  nonce: via === "pcp" ? "00112233445566778899aabb" : null,
  upnp: via === "upnp" ? { controlUrl: `http://${gateway}:5000/ctl`, serviceType: "urn:schemas-upnp-org:service:WANIPConnection:2" } : null,
});
const recorded = (...entries: RouterEntry[]): RouterState => ({ ...emptyRouterState(), gateway, clientAddress: mac, entries });
const plan = (state: RouterState, wanted: WantedMapping[], extra: Partial<Parameters<typeof planRouterSync>[0]> = {}) =>
  planRouterSync({ recorded: state, wanted, place: here, now: NOW, restarted: false, retryNow: false, ...extra }).map((s) => (s.kind === "map" ? `${s.kind} ${s.wanted.port} ${s.why}` : s.kind === "unplaced" ? `unplaced ${s.wanted.port}` : `${s.kind} ${s.entry.port}`));

describe("which ports are mapped on the router", () => {
  it("only forwards marked `router`, each port of a range and each protocol", () => {
    const { wanted, overflow } = wantedMappings([vm("web", "expose ssh 22 as 2222 router", "expose http 80 as 8080", "expose game 27015-27016/tcp+udp as 27015-27016 router upnp")], ["en0"]);
    expect(wanted.map((w) => `${w.forward} ${w.protocol} ${w.port} ${w.allowUpnp}`)).toEqual(["ssh tcp 2222 false", "game tcp 27015 true", "game tcp 27016 true", "game udp 27015 true", "game udp 27016 true"]);
    expect(overflow).toEqual([]);
  });

  it("the longest range the DSL allows with `router` (LW802) is mapped whole", () => {
    const { wanted, overflow } = wantedMappings([vm("web", `expose api 9000-${9000 + MAX_MAPPED_PORTS_PER_FORWARD - 1} as 19000-${19000 + MAX_MAPPED_PORTS_PER_FORWARD - 1} router`)], ["en0"]);
    expect(wanted.map((w) => w.port)).toEqual(Array.from({ length: MAX_MAPPED_PORTS_PER_FORWARD }, (_, i) => 19000 + i));
    expect(overflow).toEqual([]);
  });
});

describe("the router plan", () => {
  const mappedEntry = (port: number, via: GrantedMapping["via"] = "pcp", lifetime = 7200) => grantedEntry(want(port), granted(port, via, lifetime), NOW - 1000, 0);

  it("maps what is new, keeps what is fresh, deletes what no forward wants any more", () => {
    expect(plan(recorded(mappedEntry(2222), mappedEntry(2223)), [want(2222), want(2224)])).toEqual(["unmap 2223", "keep 2222", "map 2224 new"]);
  });

  it("renews a lease once due, keeping its nonce and protocol", () => {
    const entry = mappedEntry(2222);
    const steps = planRouterSync({ recorded: recorded(entry), wanted: [want(2222)], place: here, now: entry.dueAt!, restarted: false, retryNow: false });
    expect(steps).toEqual([{ kind: "map", wanted: want(2222), renewing: entry, why: "renew" }]);
  });

  it("never renews a permanent UPnP mapping, and maps everything else again after a restart", () => {
    const state = recorded(mappedEntry(2222), mappedEntry(2223, "upnp", 0));
    expect(plan(state, [want(2222), want(2223)], { now: NOW + 10 * 86_400_000 })).toEqual(["map 2222 renew", "keep 2223"]);
    expect(plan(state, [want(2222), want(2223)], { restarted: true })).toEqual(["map 2222 restart", "keep 2223"]);
  });

  it("maps afresh when the Mac moved to another gateway or address", () => {
    expect(plan({ ...recorded(mappedEntry(2222)), gateway: "10.0.0.1" as Ipv4Address }, [want(2222)])).toEqual(["map 2222 moved"]);
    expect(plan(recorded(mappedEntry(2222)), [want(2222)], { place: { ...here, clientAddress: "192.168.1.21" as Ipv4Address } })).toEqual(["map 2222 moved"]);
  });

  it("asks again after a refusal when due, or at once for a command the user typed", () => {
    const refused = failedEntry(want(2222), "the router refused", null, NOW);
    expect(plan(recorded(refused), [want(2222)])).toEqual(["keep 2222"]);
    expect(plan(recorded(refused), [want(2222)], { retryNow: true })).toEqual(["map 2222 retry"]);
    expect(plan(recorded(refused), [want(2222)], { now: refused.dueAt! })).toEqual(["map 2222 retry"]);
    // A refusal nobody wants any more is just forgotten: there is nothing on the router to delete.
    expect(plan(recorded(refused), [])).toEqual([]);
  });

  it("without a gateway or an address, each port is recorded with the reason", () => {
    expect(plan(emptyRouterState(), [want(2222)], { place: { ok: false, problem: "no default route" } })).toEqual(["unplaced 2222"]);
    expect(plan(emptyRouterState(), [{ ...want(2222), interface: "en1" as InterfaceName }])).toEqual(["unplaced 2222"]);
  });

  it("renews between 1/2 and 5/8 of the lease granted, whatever the jitter", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 86_400 }), fc.double({ min: 0, max: 1, noNaN: true }), (lifetime, jitter) => {
        const entry = grantedEntry(want(2222), granted(2222, "pcp", lifetime), NOW, jitter);
        const elapsed = entry.dueAt! - NOW;
        return entry.expiresAt === NOW + lifetime * 1000 && elapsed >= Math.floor(lifetime * 500) && elapsed <= lifetime * 625;
      }),
    );
  });

  it("a gateway whose epoch went back restarted; one that went on did not", () => {
    const before = { pcp: { epoch: 5000, receivedAt: 1000 }, natPmp: null };
    expect(restartSeen(before, { pcp: { epoch: 3, receivedAt: 1100 }, natPmp: null })).toBe(true);
    expect(restartSeen(before, { pcp: { epoch: 5100, receivedAt: 1100 }, natPmp: null })).toBe(false);
    expect(restartSeen(before, { pcp: null, natPmp: { epoch: 3, receivedAt: 1100 } })).toBe(false);
  });
});

describe("why the router gave no mapping, as up, down and the watcher print it", () => {
  const silent = (...vias: Attempt["via"][]): Attempt[] => vias.map((via) => ({ via, result: { kind: "no-answer" } }));

  // Was the silent gateway of test/e2e/router.e2e.test.ts (two 2 s exchanges per forward).
  it("names the protocols that stayed silent, and says UPnP was not tried only when the forward did not allow it", () => {
    expect(describeRefusal(refusalOf(silent("pcp", "nat-pmp")))).toBe("the router did not answer (PCP, NAT-PMP; UPnP was not tried: `router upnp` allows it)");
    expect(describeRefusal(refusalOf(silent("pcp", "nat-pmp", "upnp")))).toBe("the router did not answer (PCP, NAT-PMP, UPnP)");
  });

  it("gives the router's own code and meaning when one came, even after silence elsewhere", () => {
    const refused: Attempt = { via: "pcp", result: { kind: "refused", result: resultCode("pcp", 2) } };
    expect(describeRefusal(refusalOf([refused, ...silent("upnp")]))).toMatch(/^the router refused: NOT_AUTHORIZED \(PCP 2\): /);
    expect(describeRefusal(refusalOf([...silent("pcp"), { via: "nat-pmp", result: { kind: "unusable", detail: "a 3-byte answer" } }]))).toBe("NAT-PMP: a 3-byte answer");
  });
});
