// The router client (plugin/host/router.ts) against the stand-in gateway
// (test/standins/gateway), in-process and on loopback only: the client is given 127.0.0.1 and
// the stand-in's ports, and SSDP's multicast search is off.
import { afterEach, describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { RouterClient, type RouterTiming } from "../../plugin/host/router.js";
import { gatewayRestarted } from "../../plugin/router/epoch.js";
import { classifyExternalAddress } from "../../plugin/router/external-address.js";
import type { GrantedMapping, MapRequest } from "../../plugin/router/mapping.js";
import { StandinGateway, type GatewayBehaviour } from "../standins/gateway/gateway.js";

const LOOPBACK = "127.0.0.1" as Ipv4Address;
const TIMING: RouterTiming = { retransmitMs: 20, exchangeMs: 300, discoveryMs: 300, httpMs: 1000, totalMs: 3000 };
/**
 * For a gateway told to keep silent on PCP and NAT-PMP: each such exchange only runs out, so a
 * short one (retransmissions at 20, 60 ms) says the same in a third of the time.
 */
const SILENT: Partial<RouterTiming> = { exchangeMs: 100 };
const gateways: StandinGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

async function setUp(behaviour: Partial<GatewayBehaviour> = {}, timing: Partial<RouterTiming> = {}) {
  const gateway = await StandinGateway.start(behaviour);
  gateways.push(gateway);
  let now = 1000;
  const client = new RouterClient({ gateway: gateway.address, ports: { portMapping: gateway.ports.portMapping, ssdp: gateway.ports.ssdp }, multicastSsdp: false, timing: { ...TIMING, ...timing }, clock: () => now });
  /** Another client of the same gateway, with other timing. */
  const clientWith = (other: Partial<RouterTiming>) => new RouterClient({ gateway: gateway.address, ports: { portMapping: gateway.ports.portMapping, ssdp: gateway.ports.ssdp }, multicastSsdp: false, timing: { ...TIMING, ...timing, ...other }, clock: () => now });
  return { gateway, client, clientWith, advance: (seconds: number) => (now += seconds) };
}

const ssh: MapRequest = { clientAddress: LOOPBACK, protocol: "tcp", internalPort: 2222, externalPort: 2222, lifetime: 7200, allowUpnp: false, description: "LimaWAN web ssh" };
const granted = async (client: RouterClient, request: MapRequest = ssh): Promise<GrantedMapping> => {
  const outcome = await client.map(request);
  if (!outcome.ok) throw new Error(`not mapped: ${JSON.stringify(outcome)}`);
  return outcome.mapping;
};
const held = (gateway: StandinGateway) => gateway.mappings().map((m) => `${m.via} ${m.protocol} ${m.externalPort}->${m.internalClient}:${m.internalPort} ${m.lifetime}s`);
/** What the gateway was asked, each request once, in the order first asked (retransmissions under load repeat them). */
const asked = (gateway: StandinGateway) => [...new Set(gateway.requests.map((r) => `${r.protocol}: ${r.what}`))];

describe("PCP", () => {
  it("maps the port asked for to the Mac, with the router's lifetime, epoch, external address and a nonce; NAT-PMP is never asked", async () => {
    const { gateway, client } = await setUp();
    const outcome = await client.map(ssh);
    expect(outcome).toMatchObject({ ok: true, attempts: [{ via: "pcp", result: { kind: "granted" } }] });
    const mapping = outcome.ok ? outcome.mapping : null;
    expect(mapping).toMatchObject({ via: "pcp", protocol: "tcp", clientAddress: "127.0.0.1", internalPort: 2222, externalPort: 2222, externalAddress: "203.0.113.7", lifetime: 7200, receivedAt: 1000, upnp: null });
    expect(mapping!.epoch).toBeGreaterThanOrEqual(3600);
    expect(mapping!.nonce).toMatch(/^[0-9a-f]{24}$/);
    expect(held(gateway)).toEqual(["pcp tcp 2222->127.0.0.1:2222 7200s"]);
    expect(gateway.mappings()[0]!.nonce).toBe(mapping!.nonce);
    expect(asked(gateway)).toEqual(["pcp: MAP lifetime=7200"]);
  });

  it("renews with the mapping's nonce, keeping its external port; another nonce is refused (RFC 6887 §11.3)", async () => {
    const { gateway, client } = await setUp({ grantPort: () => 40_000 });
    const first = await granted(client);
    expect(first.externalPort).toBe(40_000);
    const renewed = await granted(client, { ...ssh, externalPort: first.externalPort, nonce: first.nonce });
    expect([renewed.nonce, renewed.externalPort]).toEqual([first.nonce, 40_000]);
    const stranger = await client.map({ ...ssh, nonce: "00".repeat(12) });
    expect(stranger).toMatchObject({ ok: false, refusal: { kind: "refused", via: "pcp", result: { code: 2, name: "NOT_AUTHORIZED" } } });
    expect(held(gateway)).toEqual(["pcp tcp 40000->127.0.0.1:2222 7200s"]);
  });

  it("accepts the shorter lifetime and the other external port the router grants", async () => {
    const { client } = await setUp({ maxLifetime: 120, grantPort: (asked) => asked + 1 });
    expect(await granted(client)).toMatchObject({ externalPort: 2223, lifetime: 120 });
  });

  it("deletes the mapping with lifetime 0 and its nonce", async () => {
    const { gateway, client } = await setUp();
    const mapping = await granted(client);
    await granted(client, { ...ssh, protocol: "udp" });
    expect(await client.unmap(mapping)).toEqual({ ok: true, attempts: [{ via: "pcp", result: { kind: "granted" } }] });
    expect(held(gateway)).toEqual(["pcp udp 2222->127.0.0.1:2222 7200s"]);
    expect(asked(gateway).at(-1)).toBe("pcp: MAP lifetime=0");
  });

  it("reports a refusal with the router's code and meaning, and asks NAT-PMP nothing", async () => {
    for (const code of [2, 8, 9]) {
      const { gateway, client } = await setUp({ refuse: { pcp: code } });
      const outcome = await client.map(ssh);
      expect(outcome).toMatchObject({ ok: false, refusal: { kind: "refused", via: "pcp", result: { protocol: "pcp", code } } });
      expect(outcome.ok ? "" : outcome.refusal.kind === "refused" ? outcome.refusal.result.meaning : "").not.toBe("");
      expect(asked(gateway).some((r) => r.startsWith("nat-pmp"))).toBe(false);
    }
  });
});

describe("NAT-PMP", () => {
  it("is asked when the gateway answers PCP in version 0, and its mapping carries the external address asked for apart", async () => {
    const { gateway, client } = await setUp({ pcp: false, grantPort: () => 41_000 }, { exchangeMs: 2000 });
    const started = Date.now();
    const outcome = await client.map(ssh);
    expect(outcome).toMatchObject({ ok: true, attempts: [{ via: "pcp", result: { kind: "other-version", version: 0 } }, { via: "nat-pmp", result: { kind: "granted" } }] });
    // The version-0 answer comes at once: no waiting out PCP's exchange.
    expect(Date.now() - started).toBeLessThan(1500);
    expect(outcome.ok && outcome.mapping).toMatchObject({ via: "nat-pmp", externalPort: 41_000, externalAddress: "203.0.113.7", lifetime: 7200, nonce: null });
    expect(asked(gateway)).toEqual(["pcp: MAP lifetime=7200", "nat-pmp: map tcp lifetime=7200", "nat-pmp: external address"]);
  });

  it("is asked when PCP gets no answer at all, after PCP's exchange runs out", async () => {
    const { gateway, client } = await setUp({ pcp: false });
    // A gateway that drops PCP silently: no NAT-PMP-style answer either.
    gateway.behaviour.natPmp = false;
    const silentPcp = await client.map(ssh);
    expect(silentPcp).toMatchObject({ ok: false, refusal: { kind: "no-answer", tried: ["pcp", "nat-pmp"] } });
    gateway.behaviour.natPmp = true;
    expect(await client.map({ ...ssh, prefer: "nat-pmp" })).toMatchObject({ ok: true, mapping: { via: "nat-pmp" }, attempts: [{ via: "nat-pmp" }] });
  });

  it("deletes with lifetime 0 naming the granted external port", async () => {
    const { gateway, client } = await setUp({ pcp: false, grantPort: () => 41_000 });
    const mapping = await granted(client);
    expect(held(gateway)).toEqual(["nat-pmp tcp 41000->127.0.0.1:2222 7200s"]);
    expect(await client.unmap(mapping)).toMatchObject({ ok: true });
    expect(held(gateway)).toEqual([]);
  });

  it("reports refusals 2–5 with their names", async () => {
    const { client } = await setUp({ pcp: false, refuse: { natPmp: 4 } });
    expect(await client.map(ssh)).toMatchObject({ ok: false, refusal: { kind: "refused", via: "nat-pmp", result: { code: 4, name: "Out of resources" } } });
  });
});

describe("UPnP", () => {
  it("is never asked unless the forward allows it", async () => {
    const { gateway, client } = await setUp({ pcp: false, natPmp: false }, SILENT);
    const started = Date.now();
    expect(await client.map(ssh)).toMatchObject({ ok: false, refusal: { kind: "no-answer", tried: ["pcp", "nat-pmp"] } });
    expect(asked(gateway).filter((r) => r.startsWith("ssdp") || r.startsWith("http"))).toEqual([]);
    expect(Date.now() - started).toBeLessThan(TIMING.totalMs);
  });

  it("maps through IGD:2's AddAnyPortMapping, then asks the external address", async () => {
    const { gateway, client } = await setUp({ pcp: false, natPmp: false, upnp: 2, grantPort: () => 42_000 }, SILENT);
    const outcome = await client.map({ ...ssh, allowUpnp: true });
    expect(outcome).toMatchObject({ ok: true, attempts: [{ via: "pcp", result: { kind: "no-answer" } }, { via: "nat-pmp", result: { kind: "no-answer" } }, { via: "upnp", result: { kind: "granted" } }] });
    const mapping = outcome.ok ? outcome.mapping : null;
    expect(mapping).toMatchObject({ via: "upnp", externalPort: 42_000, externalAddress: "203.0.113.7", lifetime: 7200, epoch: null, nonce: null });
    expect(mapping!.upnp).toEqual({ controlUrl: `http://127.0.0.1:${gateway.ports.http}/ctl/IPConn`, serviceType: "urn:schemas-upnp-org:service:WANIPConnection:2" });
    expect(asked(gateway).filter((r) => !r.startsWith("pcp") && !r.startsWith("nat-pmp"))).toEqual([
      "ssdp: M-SEARCH * HTTP/1.1 urn:schemas-upnp-org:device:InternetGatewayDevice:2",
      "ssdp: M-SEARCH * HTTP/1.1 urn:schemas-upnp-org:device:InternetGatewayDevice:1",
      "http: GET /rootDesc.xml",
      "http: POST AddAnyPortMapping",
      "http: POST GetExternalIPAddress",
    ]);
    expect(gateway.mappings()[0]).toMatchObject({ via: "upnp", description: "LimaWAN web ssh", internalClient: "127.0.0.1" });
    expect(await client.unmap(mapping!)).toMatchObject({ ok: true });
    expect(held(gateway)).toEqual([]);
  });

  it("maps through IGD:1's AddPortMapping", async () => {
    const { gateway, client } = await setUp({ pcp: false, natPmp: false, upnp: 1 });
    expect(await granted(client, { ...ssh, allowUpnp: true, prefer: "upnp" })).toMatchObject({ via: "upnp", externalPort: 2222, upnp: { serviceType: "urn:schemas-upnp-org:service:WANIPConnection:1" } });
    expect(asked(gateway)).toContain("http: POST AddPortMapping");
  });

  it("retries with lease 0 on a router that grants permanent mappings only (725), and deletes those too", async () => {
    const { gateway, client } = await setUp({ pcp: false, natPmp: false, upnp: 1, permanentOnly: true });
    const mapping = await granted(client, { ...ssh, allowUpnp: true, prefer: "upnp" });
    expect(mapping).toMatchObject({ via: "upnp", lifetime: 0 });
    expect(held(gateway)).toEqual(["upnp tcp 2222->127.0.0.1:2222 0s"]);
    expect(gateway.mappings()[0]!.expiresAt).toBeNull();
    expect(await client.unmap(mapping)).toMatchObject({ ok: true });
    expect(held(gateway)).toEqual([]);
  });

  it("reports a UPnP fault with its code: 718 ConflictInMappingEntry, 606 Action not authorized", async () => {
    for (const code of [718, 606]) {
      const { client } = await setUp({ pcp: false, natPmp: false, upnp: 1, refuse: { upnp: code } }, SILENT);
      expect(await client.map({ ...ssh, allowUpnp: true, prefer: "upnp" })).toMatchObject({ ok: false, refusal: { kind: "refused", via: "upnp", result: { code } } });
    }
  });

  it("is asked after a PCP refusal when allowed, and its grant wins", async () => {
    const { client } = await setUp({ refuse: { pcp: 2 } });
    expect(await client.map({ ...ssh, allowUpnp: true })).toMatchObject({ ok: true, mapping: { via: "upnp" }, attempts: [{ via: "pcp", result: { kind: "refused" } }, { via: "upnp", result: { kind: "granted" } }] });
  });

  it("ignores an SSDP answer whose LOCATION is not on the gateway, and fetches nothing from it", async () => {
    const { gateway, client } = await setUp({ pcp: false, natPmp: false }, SILENT);
    gateway.behaviour.location = `http://127.0.0.2:${gateway.ports.http}/rootDesc.xml`;
    const outcome = await client.map({ ...ssh, allowUpnp: true, prefer: "upnp" });
    expect(outcome).toMatchObject({ ok: false, refusal: { kind: "unusable", via: "upnp", detail: expect.stringMatching(/LOCATION http:\/\/127\.0\.0\.2:\d+\/rootDesc\.xml is not on the gateway's address 127\.0\.0\.1/) } });
    expect(asked(gateway).filter((r) => r.startsWith("http"))).toEqual([]);
  });

  it("refuses a description whose controlURL points at another host, posting nothing there", async () => {
    const { gateway, client } = await setUp({ pcp: false, natPmp: false, controlUrl: "http://127.0.0.2/ctl/IPConn" }, SILENT);
    expect(await client.map({ ...ssh, allowUpnp: true, prefer: "upnp" })).toMatchObject({ ok: false, refusal: { kind: "unusable", detail: expect.stringMatching(/controlURL: not on the gateway's address/) } });
    expect(asked(gateway).filter((r) => r.startsWith("http: POST"))).toEqual([]);
  });

  it("refuses to delete at a recorded control URL that is not on the gateway (an edited state file)", async () => {
    const { gateway, client } = await setUp({ pcp: false, natPmp: false });
    const mapping = await granted(client, { ...ssh, allowUpnp: true, prefer: "upnp" });
    const outcome = await client.unmap({ ...mapping, upnp: { ...mapping.upnp!, controlUrl: "http://127.0.0.2/ctl/IPConn" } });
    expect(outcome).toMatchObject({ ok: false, refusal: { kind: "unusable", detail: expect.stringMatching(/recorded control URL is not on the gateway's address/) } });
    expect(held(gateway)).toHaveLength(1);
  });
});

describe("a restart, and the external address", () => {
  it("shows a gateway restart in the epoch of the next answer (PCP and NAT-PMP), and the mapping gone", async () => {
    for (const natPmpOnly of [false, true]) {
      const { gateway, client, advance } = await setUp({ pcp: !natPmpOnly });
      const before = await granted(client);
      advance(1800);
      gateway.restart();
      expect(held(gateway)).toEqual([]);
      const after = await granted(client, { ...ssh, nonce: before.nonce });
      expect(after.epoch).toBeLessThan(5);
      const reading = (m: GrantedMapping) => ({ epoch: m.epoch!, receivedAt: m.receivedAt });
      expect(gatewayRestarted(before.via as "pcp" | "nat-pmp", reading(before), reading(after))).toBe(true);
      expect(held(gateway)).toHaveLength(1);
    }
  });

  it("names the external address the router reports, private or shared space included", async () => {
    const { gateway, client } = await setUp({ externalAddress: "100.64.250.247" as Ipv4Address });
    const mapping = await granted(client);
    expect(mapping.externalAddress).toBe("100.64.250.247");
    expect(classifyExternalAddress(mapping.externalAddress!)).toBe("shared");
    gateway.behaviour.externalAddress = "192.168.0.2" as Ipv4Address;
    expect(await client.externalAddress({ clientAddress: LOOPBACK, allowUpnp: false })).toMatchObject({ ok: true, address: "192.168.0.2", via: "nat-pmp" });
  });

  it("asks NAT-PMP for the external address, then UPnP where allowed", async () => {
    const { gateway, client } = await setUp({ natPmp: false });
    // PCP answers a version-0 question in its own version: no address from it.
    expect(await client.externalAddress({ clientAddress: LOOPBACK, allowUpnp: false })).toMatchObject({ ok: false, attempts: [{ via: "nat-pmp", result: { kind: "other-version", version: 2 } }] });
    gateway.behaviour.externalAddress = "198.51.100.20" as Ipv4Address;
    expect(await client.externalAddress({ clientAddress: LOOPBACK, allowUpnp: true })).toMatchObject({ ok: true, address: "198.51.100.20", via: "upnp" });
  });
});

describe("probe", () => {
  it("says which protocols the gateway answers", async () => {
    const { gateway, client, clientWith } = await setUp({}, { exchangeMs: 2000 });
    const probe = () => client.probe({ clientAddress: LOOPBACK, allowUpnp: true });
    expect(await probe()).toEqual({ pcp: true, natPmp: true, upnp: true });
    gateway.behaviour.pcp = false;
    // The version-0 answer to ANNOUNCE says "no PCP" at once, well before the 2 s exchange ends.
    const started = Date.now();
    expect(await probe()).toEqual({ pcp: false, natPmp: true, upnp: true });
    expect(Date.now() - started).toBeLessThan(1500);
    // Silence on NAT-PMP only runs out: a short exchange says the same.
    const short = clientWith(SILENT);
    gateway.behaviour = { ...gateway.behaviour, pcp: true, natPmp: false, upnp: null };
    expect(await short.probe({ clientAddress: LOOPBACK, allowUpnp: true })).toEqual({ pcp: true, natPmp: false, upnp: false });
    gateway.behaviour.pcp = false;
    expect(await short.probe({ clientAddress: LOOPBACK, allowUpnp: false })).toEqual({ pcp: false, natPmp: false, upnp: null });
  });
});

describe("bounds", () => {
  it("ends a call that nothing answers within its total time, UPnP included", async () => {
    // Each protocol alone may take 1 s; all three would take 3 s.
    const { client } = await setUp({ pcp: false, natPmp: false, upnp: null }, { exchangeMs: 1000, discoveryMs: 1000, totalMs: 600 });
    const started = Date.now();
    expect(await client.map({ ...ssh, allowUpnp: true })).toMatchObject({ ok: false, refusal: { kind: "no-answer" } });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
