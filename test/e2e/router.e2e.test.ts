// Router mappings end to end: the built CLI (up, status, down, watch, uninstall) against the
// stand-in gateway (test/standins/gateway), which listens on PCP/NAT-PMP's 5351 and SSDP's 1900
// of a 127.x.y.1 of this sandbox's own — the gateway the route stand-in reports — while the
// ifconfig stand-in gives en0 the address 127.x.y.2. Loopback only: nothing leaves the machine.
import { mkdirSync, chmodSync, readFileSync, existsSync } from "node:fs";
import http from "node:http";
import type net from "node:net";
import path from "node:path";
import type { ResultPromise } from "execa";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { StandinGateway } from "../standins/gateway/gateway.js";
import { createSandbox, type Sandbox } from "./harness.js";
import { eventually as waitUntil, type Check } from "../eventually.js";

vi.setConfig({ testTimeout: 60_000 });

const yaml = (...lines: string[]) => `networks:\n  - lima: shared\nx-limawan: |\n  interface en0\n${lines.map((l) => `  ${l}\n`).join("")}`;

let sb: Sandbox;
let gateway: StandinGateway;
let mac: string;
let watchers: ResultPromise[] = [];

/** A 127.x.y.0/24 of this sandbox's own (files run side by side): .1 the router, .2 the Mac. */
async function startGateway(behaviour: Parameters<typeof StandinGateway.start>[0] = {}): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const [x, y] = [1 + Math.floor(Math.random() * 254), 1 + Math.floor(Math.random() * 254)];
    try {
      gateway = await StandinGateway.start(behaviour, { place: { address: `127.${x}.${y}.1` as Ipv4Address, portMapping: 5351, ssdp: 1900 } });
      mac = `127.${x}.${y}.2`;
      return;
    } catch (error) {
      if (attempt > 5) throw error;
    }
  }
}

async function sandbox(behaviour: Parameters<typeof StandinGateway.start>[0] = {}, env: Record<string, string> = {}): Promise<void> {
  await startGateway(behaviour);
  sb = await createSandbox({ env: { ROUTE_STANDIN_GATEWAY: gateway.address, IFCONFIG_STANDIN_ADDRESSES: `en0=${mac}/8,bridge100=192.168.105.1/24`, ...env } });
}

afterEach(async () => {
  for (const w of watchers) w.kill("SIGKILL");
  watchers = [];
  await sb?.cleanup();
  await gateway?.close();
});

const eventually = (check: Check, what: string, timeoutMs = 15_000) => waitUntil(check, what, { timeoutMs });

const held = () => gateway.mappings().map((m) => `${m.via} ${m.protocol} ${m.externalPort}->${m.internalClient}:${m.internalPort}`);

async function statusJson(): Promise<any> {
  const result = await sb.run(["status", "--json"]);
  expect(result.exitCode).toBe(0);
  return JSON.parse(result.stdout);
}

/** The lifetimes of the router mappings the state file records (the watcher's own record). */
function recordedLifetimes(): number[] {
  try {
    const state = JSON.parse(readFileSync(path.join(sb.paths.stateDir, "state.json"), "utf8")) as { router?: { entries?: Array<{ mapping: { lifetime: number } | null }> } };
    return (state.router?.entries ?? []).map((e) => e.mapping?.lifetime ?? -1);
  } catch {
    return []; // not written yet, or being replaced
  }
}

const forwardOf = (status: any, instance: string, name: string) => status.instances.find((i: any) => i.instance === instance).forwards.find((f: any) => f.name === name);

describe("router mappings", () => {
  beforeEach(() => {
    watchers = [];
  });

  it("up maps only the `router` forward, to the Mac's own address; status shows it; down deletes it", async () => {
    await sandbox();
    await sb.addInstance("web", yaml("expose ssh 22 as 2222 router", "expose http 80 as 8080"));
    await sb.startVm("web");
    const up = await sb.run(["up", "web"]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stderr).toContain(`mapped web/ssh tcp 2222 on the router: 203.0.113.7:2222 (PCP, until `);
    expect(held()).toEqual([`pcp tcp 2222->${mac}:2222`]);

    const forward = forwardOf(await statusJson(), "web", "ssh");
    expect(forward.router.mapped).toEqual([{ protocol: "tcp", port: 2222, via: "pcp", externalAddress: "203.0.113.7", externalPort: 2222, expiresAt: expect.any(String) }]);
    expect(Date.parse(forward.router.mapped[0].expiresAt) - Date.now()).toBeGreaterThan(7000 * 1000);
    expect(forwardOf(await statusJson(), "web", "http").router).toBeNull();
    const text = await sb.run(["status"]);
    expect(text.stdout).toMatch(/ssh router: tcp 2222 -> 203\.0\.113\.7:2222 \(PCP, expires in (1h 59m|2h)\)/);

    const down = await sb.run(["down", "web"]);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(down.stderr).toContain("deleted the router's mapping of web/ssh tcp 2222 (external port 2222, PCP)");
    expect(held()).toEqual([]);
    expect(gateway.requests.filter((r) => r.what === "MAP lifetime=0")).toHaveLength(1);
  });

  it("a refusal is reported with the router's code and meaning; the forward still works on the Mac", async () => {
    await sandbox({ refuse: { pcp: 2 } });
    await sb.addInstance("web", yaml("expose ssh 22 as 2222 router"));
    await sb.startVm("web");
    const up = await sb.run(["up", "web"]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stderr).toContain("web/ssh tcp 2222: not mapped on the router: the router refused: NOT_AUTHORIZED (PCP 2)");
    expect(held()).toEqual([]);
    const forward = forwardOf(await statusJson(), "web", "ssh");
    expect(forward.state).toBe("applied");
    expect(forward.router.unmapped).toEqual([{ protocol: "tcp", port: 2222, problem: expect.stringContaining("NOT_AUTHORIZED (PCP 2)") }]);
  });

  it("a port the router grants instead of the one asked is accepted and reported everywhere", async () => {
    await sandbox({ grantPort: () => 40_022 });
    await sb.addInstance("web", yaml("expose ssh 22 as 2222 router"));
    await sb.startVm("web");
    const up = await sb.run(["up", "web"]);
    expect(up.stderr).toContain("the router opened external port 40022, not 2222");
    expect(held()).toEqual([`pcp tcp 40022->${mac}:2222`]);
    expect(forwardOf(await statusJson(), "web", "ssh").router.mapped[0]).toMatchObject({ port: 2222, externalPort: 40_022 });
    await sb.run(["down", "web"]);
    expect(held()).toEqual([]);
  });

  it("a router whose external address is carrier-grade NAT space is said to be behind another NAT", async () => {
    await sandbox({ externalAddress: "100.64.12.34" as Ipv4Address });
    await sb.addInstance("web", yaml("expose ssh 22 as 2222 router"));
    await sb.startVm("web");
    const up = await sb.run(["up", "web"]);
    expect(up.stderr).toMatch(/100\.64\.12\.34 is the ISP's carrier-grade NAT space .*another NAT is outside it.*Ask the ISP for a public IPv4 address/);
    const text = await sb.run(["status"]);
    expect(text.stdout).toMatch(/ssh router: .*carrier-grade NAT/);
  });

  it("UPnP only where allowed; a router granting permanent leases only gets lease 0, deleted on down", async () => {
    // PCP refuses at once (a silent gateway cost two 2 s exchanges per forward; what up prints
    // for silence is test/engine/router-sync.test.ts's "why the router gave no mapping").
    await sandbox({ refuse: { pcp: 2 }, upnp: 2, permanentOnly: true });
    await sb.addInstance("web", yaml("expose ssh 22 as 2222 router", "expose game 27015/udp as 27015 router upnp"));
    await sb.startVm("web");
    const up = await sb.run(["up", "web"]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stderr).toContain("web/ssh tcp 2222: not mapped on the router: the router refused: NOT_AUTHORIZED (PCP 2)");
    expect(held(), up.stderr).toEqual([`upnp udp 27015->${mac}:27015`]);
    expect(gateway.mappings()[0]!.lifetime).toBe(0);
    expect(gateway.requests.some((r) => r.protocol === "ssdp")).toBe(true);
    expect(forwardOf(await statusJson(), "web", "game").router.mapped[0]).toMatchObject({ via: "upnp", expiresAt: null });
    await sb.run(["down", "web"]);
    expect(held()).toEqual([]);
    expect(gateway.requests.map((r) => r.what)).toContain("POST DeletePortMapping");
  });

  it("the watcher renews a short lease, heals a router restart, tells --on-public-address, and deletes on VM stop", { timeout: 120_000 }, async () => {
    await sandbox({ maxLifetime: 6 }, { LIMAWAN_WATCH_INTERVAL_MS: "1000" });
    const out = path.join(sb.paths.root, "hook");
    mkdirSync(out, { recursive: true });
    chmodSync(out, 0o777);
    await sb.addInstance("web", yaml("expose ssh 22 as 2222 router"));
    const watcher = sb.runBackground(["watch", "--on-public-address", `cat > ${out}/address.json; id -u > ${out}/uid`]);
    watchers.push(watcher);
    let log = "";
    watcher.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    await sb.startVm("web");
    await eventually(() => held().length === 1, "mapped by the watcher");
    // A 6 s lease renewed at 3–3¾ s (2 s to spare for a watcher run on a busy machine): renewed,
    // and still held once the first lease has ended.
    const firstLeaseEnds = gateway.mappings()[0]!.expiresAt!;
    const renewals = () => (log.match(/renewed web\/ssh tcp 2222/g) ?? []).length;
    await eventually(() => renewals() > 0 && Date.now() > firstLeaseEnds + 250, "renewed, and the first lease over");
    expect(held()).toEqual([`pcp tcp 2222->${mac}:2222`]);
    expect(gateway.requests.filter((r) => r.what === "MAP lifetime=7200").length).toBeGreaterThanOrEqual(2);

    await eventually(() => existsSync(`${out}/address.json`), "--on-public-address run");
    expect(JSON.parse(readFileSync(`${out}/address.json`, "utf8"))).toMatchObject({ address: "203.0.113.7", previous: null, kind: "public", gateway: gateway.address });
    expect(readFileSync(`${out}/uid`, "utf8").trim()).toBe(String(sb.vmUser?.uid ?? process.getuid!()));

    // Once a renewal has been granted an hour, the next one is far off: only the restart check can heal.
    gateway.behaviour.maxLifetime = 3600;
    await eventually(() => recordedLifetimes().includes(3600), "a renewal granted an hour, recorded");
    gateway.restart();
    expect(held()).toEqual([]);
    await eventually(() => held().length === 1, "mapped again after the router's restart");
    // Logged once the run has recorded it, a moment after the router saw the request.
    await eventually(() => /restarted \(its epoch went back\)/.test(log), "the restart logged");

    gateway.behaviour.externalAddress = "198.51.100.9" as Ipv4Address;
    await eventually(() => existsSync(`${out}/address.json`) && readFileSync(`${out}/address.json`, "utf8").includes("198.51.100.9"), "the new public address told");
    expect(JSON.parse(readFileSync(`${out}/address.json`, "utf8"))).toMatchObject({ address: "198.51.100.9", previous: "203.0.113.7" });

    await sb.stopVm("web");
    await eventually(() => held().length === 0, "deleted when the VM stopped");
  });

  it("uninstall deletes every mapping", async () => {
    await sandbox({ pcp: false });
    await sb.addInstance("web", yaml("expose ssh 22 as 2222 router"));
    await sb.startVm("web");
    await sb.run(["up", "web"]);
    expect(held()).toEqual([`nat-pmp tcp 2222->${mac}:2222`]);
    const uninstall = await sb.run(["uninstall"]);
    expect(uninstall.exitCode, uninstall.stderr).toBe(0);
    expect(held()).toEqual([]);
    expect(gateway.requests.map((r) => r.what)).toContain("map tcp lifetime=0");
  });

  it("doctor says which protocols the gateway speaks; diagnose has a router step and compares the public address", async () => {
    await sandbox({ pcp: false, externalAddress: "192.168.0.2" as Ipv4Address });
    await sb.addInstance("web", yaml("expose ssh 22 as 2222 router upnp"));
    await sb.startVm("web");
    await sb.run(["up", "web"]);
    expect(held()).toEqual([`nat-pmp tcp 2222->${mac}:2222`]);

    const doctor = await sb.run(["doctor", "--json"]);
    const check = JSON.parse(doctor.stdout).checks.find((c: any) => c.name === "router");
    expect(check).toMatchObject({ level: "warn", detail: expect.stringMatching(new RegExp(`the gateway ${gateway.address.replaceAll(".", "\\.")} speaks NAT-PMP, UPnP; the router's external address 192\\.168\\.0\\.2 is a private address \\(RFC 1918\\)`)) });

    // A what-is-my-address service on loopback: it sees another address than the router has, so double NAT.
    const server = http.createServer((_req, res) => res.end("198.51.100.20\n"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const result = await sb.run(["diagnose", "web", "--external", "--json"], { env: { LIMAWAN_PUBLIC_ADDRESS_URL: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/` } });
      const steps = JSON.parse(result.stdout).forwards.find((f: any) => f.name === "ssh").steps;
      const router = steps.find((s: any) => s.id === "router");
      expect(router).toMatchObject({ verdict: "warn", detail: expect.stringMatching(/speaks NAT-PMP, UPnP; tcp 2222 -> 192\.168\.0\.2:2222 \(NAT-PMP, expires in .*\); the router's external address 192\.168\.0\.2 is a private address/) });
      expect(steps.find((s: any) => s.id === "external")).toMatchObject({ verdict: "warn", detail: expect.stringMatching(/^double NAT: the router's external address is 192\.168\.0\.2, but the internet sees 198\.51\.100\.20/) });

      gateway.behaviour.externalAddress = "198.51.100.20" as Ipv4Address;
      const direct = await sb.run(["diagnose", "web", "--external", "--json"], { env: { LIMAWAN_PUBLIC_ADDRESS_URL: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/` } });
      const external = JSON.parse(direct.stdout).forwards.find((f: any) => f.name === "ssh").steps.find((s: any) => s.id === "external");
      expect(external.detail).toContain("the router maps tcp 198.51.100.20:2222 to the Mac");
    } finally {
      server.close();
    }
  });
});
