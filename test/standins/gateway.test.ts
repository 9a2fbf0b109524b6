// The stand-in gateway's own state (test/standins/gateway): leases that run out on its clock,
// its epoch, a restart, and the answers a gateway without a protocol gives. The client's
// side of the conversation is test/host/router.test.ts.
import { createSocket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { decodeNatPmpReply, encodeNatPmpExternalAddressRequest, encodeNatPmpMapRequest } from "../../plugin/router/nat-pmp-codec.js";
import { decodePcpReply, encodePcpAnnounceRequest, encodePcpMapRequest } from "../../plugin/router/pcp-codec.js";
import { StandinGateway } from "./gateway/gateway.js";

const gateways: StandinGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

async function ask(gateway: StandinGateway, payload: Uint8Array): Promise<Uint8Array | null> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.close();
      resolve(null);
    }, 1000);
    socket.on("message", (message) => {
      clearTimeout(timer);
      socket.close();
      resolve(new Uint8Array(message));
    });
    socket.send(payload, gateway.ports.portMapping, gateway.address);
  });
}

const mapRequest = (lifetime: number) => encodePcpMapRequest({ lifetime, clientAddress: "127.0.0.1" as Ipv4Address, nonce: new Uint8Array(12).fill(7), protocol: "tcp", internalPort: 22, suggestedExternalPort: 2222, suggestedExternalAddress: null });

describe("the stand-in gateway", () => {
  it("counts its epoch from its uptime, lets leases run out on its clock, and loses everything on a restart", async () => {
    let now = 1_000_000;
    const gateway = await StandinGateway.start({}, { clock: () => now, uptimeSeconds: 7200 });
    gateways.push(gateway);
    expect(gateway.epoch()).toBe(7200);
    const reply = decodePcpReply((await ask(gateway, mapRequest(60)))!);
    expect(reply).toMatchObject({ ok: true, value: { kind: "pcp", response: { resultCode: 0, lifetime: 60, epoch: 7200, map: { externalPort: 2222 } } } });
    now += 59_000;
    expect(gateway.mappings()).toHaveLength(1);
    now += 1_000;
    expect(gateway.mappings()).toEqual([]);
    await ask(gateway, mapRequest(60));
    gateway.restart();
    expect([gateway.mappings(), gateway.epoch()]).toEqual([[], 0]);
    expect(gateway.requests).toEqual([
      { protocol: "pcp", what: "MAP lifetime=60" },
      { protocol: "pcp", what: "MAP lifetime=60" },
    ]);
  });

  it("answers PCP's ANNOUNCE, and refuses a MAP naming another client address (ADDRESS_MISMATCH)", async () => {
    const gateway = await StandinGateway.start();
    gateways.push(gateway);
    expect(decodePcpReply((await ask(gateway, encodePcpAnnounceRequest("127.0.0.1" as Ipv4Address)))!)).toMatchObject({ ok: true, value: { kind: "pcp", response: { opcode: 0, resultCode: 0, map: null } } });
    const spoofed = encodePcpMapRequest({ lifetime: 60, clientAddress: "192.168.1.99" as Ipv4Address, nonce: new Uint8Array(12), protocol: "udp", internalPort: 53, suggestedExternalPort: 53, suggestedExternalAddress: null });
    expect(decodePcpReply((await ask(gateway, spoofed))!)).toMatchObject({ ok: true, value: { kind: "pcp", response: { resultCode: 12 } } });
    expect(gateway.mappings()).toEqual([]);
  });

  it("without PCP answers it as a NAT-PMP gateway does; without NAT-PMP as a PCP server does; without both, not at all", async () => {
    const gateway = await StandinGateway.start({ pcp: false });
    gateways.push(gateway);
    expect(decodePcpReply((await ask(gateway, mapRequest(60)))!)).toEqual({ ok: true, value: { kind: "other-version", version: 0 } });
    gateway.behaviour = { ...gateway.behaviour, pcp: true, natPmp: false };
    expect(decodeNatPmpReply((await ask(gateway, encodeNatPmpExternalAddressRequest()))!)).toEqual({ ok: true, value: { kind: "other-version", version: 2 } });
    gateway.behaviour.pcp = false;
    expect(await ask(gateway, encodeNatPmpMapRequest({ protocol: "tcp", internalPort: 22, suggestedExternalPort: 22, lifetime: 60 }))).toBeNull();
    expect(await ask(gateway, mapRequest(60))).toBeNull();
  });
});
