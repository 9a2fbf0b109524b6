// NAT-PMP messages (plugin/router/nat-pmp-codec.ts) against RFC 6886's layouts (§3.2, §3.3,
// §3.5): the bytes at their offsets, both halves reading back what the other wrote, and any
// datagram read as a reply or a reason, never an exception.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import {
  answersNatPmpExternalAddress,
  answersNatPmpMap,
  decodeNatPmpReply,
  decodeNatPmpRequest,
  encodeNatPmpExternalAddressRequest,
  encodeNatPmpMapRequest,
  encodeNatPmpResponse,
  type NatPmpResponse,
} from "../../plugin/router/nat-pmp-codec.js";
import { encodePcpResponse } from "../../plugin/router/pcp-codec.js";
import { arbitraryNatPmpMapRequest, arbitraryNatPmpResponse } from "../arbitraries.js";

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

describe("requests, as RFC 6886 lays them out", () => {
  it("asks for the external address with two bytes: version 0, opcode 0 (§3.2)", () => {
    expect([...encodeNatPmpExternalAddressRequest()]).toEqual([0, 0]);
  });

  it("asks for a mapping in 12 bytes: version, opcode 1 (UDP) or 2 (TCP), reserved, internal port, suggested external port, lifetime in seconds (§3.3)", () => {
    const bytes = encodeNatPmpMapRequest({ protocol: "tcp", internalPort: 2222, suggestedExternalPort: 2223, lifetime: 7200 });
    expect(bytes.length).toBe(12);
    expect([bytes[0], bytes[1], bytes[2], bytes[3]]).toEqual([0, 2, 0, 0]);
    expect(view(bytes).getUint16(4)).toBe(2222);
    expect(view(bytes).getUint16(6)).toBe(2223);
    // Seconds, not milliseconds (@achingbrain/nat-port-mapper 4.x wrote its ms value here).
    expect(view(bytes).getUint32(8)).toBe(7200);
    expect(encodeNatPmpMapRequest({ protocol: "udp", internalPort: 53, suggestedExternalPort: 0, lifetime: 0 })[1]).toBe(1);
  });

  it("puts every field of any map request at its offset, and the gateway reads it back", () => {
    fc.assert(
      fc.property(arbitraryNatPmpMapRequest, (r) => {
        const bytes = encodeNatPmpMapRequest(r);
        expect([bytes[0], bytes[1], view(bytes).getUint16(4), view(bytes).getUint16(6), view(bytes).getUint32(8)]).toEqual([0, r.protocol === "udp" ? 1 : 2, r.internalPort, r.suggestedExternalPort, r.lifetime]);
        expect(decodeNatPmpRequest(bytes)).toEqual({ ok: true, value: { kind: "map", ...r } });
      }),
    );
    expect(decodeNatPmpRequest(encodeNatPmpExternalAddressRequest())).toEqual({ ok: true, value: { kind: "external-address" } });
  });

  it("lets the gateway tell another version or an unknown opcode (to answer 1 or 5), and ignore responses", () => {
    expect(decodeNatPmpRequest(Uint8Array.of(2, 1, 0, 0))).toEqual({ ok: true, value: { kind: "other", version: 2, opcode: 1 } });
    expect(decodeNatPmpRequest(Uint8Array.of(0, 9))).toEqual({ ok: true, value: { kind: "other", version: 0, opcode: 9 } });
    expect(decodeNatPmpRequest(Uint8Array.of(0, 130))).toMatchObject({ ok: false, problem: { code: "direction" } });
    expect(decodeNatPmpRequest(Uint8Array.of(0, 2, 0, 0, 0, 22))).toMatchObject({ ok: false, problem: { code: "short" } });
  });
});

describe("responses, as RFC 6886 lays them out", () => {
  it("answers the external address in 12 bytes: version, 128, result (16 bits), seconds since start of epoch, address (§3.2)", () => {
    const bytes = encodeNatPmpResponse({ kind: "external-address", resultCode: 0, epoch: 86_400, externalAddress: "198.51.100.7" as Ipv4Address });
    expect(bytes.length).toBe(12);
    expect([bytes[0], bytes[1], view(bytes).getUint16(2), view(bytes).getUint32(4)]).toEqual([0, 128, 0, 86_400]);
    expect([...bytes.subarray(8, 12)]).toEqual([198, 51, 100, 7]);
  });

  it("answers a mapping in 16 bytes: version, 128 + opcode, result, epoch, internal port, mapped external port, lifetime (§3.3)", () => {
    const bytes = encodeNatPmpResponse({ kind: "map", resultCode: 0, epoch: 5, protocol: "tcp", internalPort: 2222, externalPort: 40_000, lifetime: 3600 });
    expect(bytes.length).toBe(16);
    expect([bytes[0], bytes[1], view(bytes).getUint16(2), view(bytes).getUint32(4)]).toEqual([0, 130, 0, 5]);
    expect([view(bytes).getUint16(8), view(bytes).getUint16(10), view(bytes).getUint32(12)]).toEqual([2222, 40_000, 3600]);
  });

  it("refuses in the 8-byte header: the result code in bytes 2–3 (§3.5)", () => {
    const bytes = encodeNatPmpResponse({ kind: "error", opcode: 2, resultCode: 3, epoch: 7 });
    expect([...bytes]).toEqual([0, 130, 0, 3, 0, 0, 0, 7]);
  });

  it("reads back as itself on the client's side", () => {
    fc.assert(
      fc.property(arbitraryNatPmpResponse, (r) => {
        expect(decodeNatPmpReply(encodeNatPmpResponse(r))).toEqual({ ok: true, value: { kind: "nat-pmp", response: r } });
      }),
    );
  });

  it("reads a refusal the same whether or not the gateway filled the rest of the message (miniupnpd does)", () => {
    const full = new Uint8Array(16);
    full.set([0, 130, 0, 2, 0, 0, 1, 0, 0x08, 0xae, 0, 0, 0, 0, 0x1c, 0x20]);
    expect(decodeNatPmpReply(full)).toEqual({ ok: true, value: { kind: "nat-pmp", response: { kind: "error", opcode: 2, resultCode: 2, epoch: 256 } } });
  });
});

describe("what the client drops, as data", () => {
  const problem = (bytes: Uint8Array) => {
    const read = decodeNatPmpReply(bytes);
    return read.ok ? null : read.problem.code;
  };
  const mapReply = encodeNatPmpResponse({ kind: "map", resultCode: 0, epoch: 5, protocol: "udp", internalPort: 53, externalPort: 5353, lifetime: 60 });

  it("drops a success cut short, a header cut short, its own request reflected, more than 1100 bytes, an unknown opcode", () => {
    for (let length = 0; length < 16; length++) expect(decodeNatPmpReply(mapReply.subarray(0, length)).ok, `${length} bytes`).toBe(false);
    expect(problem(encodeNatPmpResponse({ kind: "external-address", resultCode: 0, epoch: 1, externalAddress: "198.51.100.7" as Ipv4Address }).subarray(0, 11))).toBe("short");
    expect(problem(encodeNatPmpMapRequest({ protocol: "tcp", internalPort: 1, suggestedExternalPort: 1, lifetime: 1 }))).toBe("direction");
    const huge = new Uint8Array(1101);
    huge.set(mapReply);
    expect(problem(huge)).toBe("long");
    expect(problem(Uint8Array.of(0, 128 + 9, 0, 0, 0, 0, 0, 0))).toBe("opcode");
  });

  it("reads PCP's answer to a version-0 request as another version (RFC 6887 §9)", () => {
    const pcp = encodePcpResponse({ opcode: 2, resultCode: 1, lifetime: 1800, epoch: 9, map: null });
    expect(decodeNatPmpReply(pcp)).toEqual({ ok: true, value: { kind: "other-version", version: 2 } });
  });

  it("never throws, whatever the bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => {
        const reply = decodeNatPmpReply(bytes);
        if (!reply.ok) expect(["short", "long", "direction", "opcode"]).toContain(reply.problem.code);
        expect(typeof decodeNatPmpRequest(bytes).ok).toBe("boolean");
      }),
      { numRuns: 2000 },
    );
  });
});

describe("whether a response answers the request", () => {
  const request = { protocol: "tcp" as const, internalPort: 2222, suggestedExternalPort: 2222, lifetime: 7200 };
  const granted: NatPmpResponse = { kind: "map", resultCode: 0, epoch: 1, protocol: "tcp", internalPort: 2222, externalPort: 40_000, lifetime: 7200 };

  it("answers with the request's protocol and internal port, whatever external port was granted", () => {
    expect(answersNatPmpMap(request, granted)).toBe(true);
    expect(answersNatPmpMap(request, { ...granted, protocol: "udp" })).toBe(false);
    expect(answersNatPmpMap(request, { ...granted, internalPort: 22 })).toBe(false);
    expect(answersNatPmpMap(request, { kind: "error", opcode: 2, resultCode: 2, epoch: 1 })).toBe(true);
    expect(answersNatPmpMap(request, { kind: "error", opcode: 1, resultCode: 2, epoch: 1 })).toBe(false);
    expect(answersNatPmpMap(request, { kind: "external-address", resultCode: 0, epoch: 1, externalAddress: "198.51.100.7" as Ipv4Address })).toBe(false);
  });

  it("tells an external-address answer from a map answer", () => {
    expect(answersNatPmpExternalAddress({ kind: "external-address", resultCode: 0, epoch: 1, externalAddress: "198.51.100.7" as Ipv4Address })).toBe(true);
    expect(answersNatPmpExternalAddress({ kind: "error", opcode: 0, resultCode: 3, epoch: 1 })).toBe(true);
    expect(answersNatPmpExternalAddress(granted)).toBe(false);
  });
});
