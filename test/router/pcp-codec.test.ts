// PCP MAP messages (plugin/router/pcp-codec.ts) against RFC 6887's layouts: the bytes at the
// offsets §7.1, §7.2 and §11.1 give, both halves of the exchange read back what the other
// wrote, and whatever a router sends is either a reply or a reason, never an exception.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { encodeNatPmpResponse } from "../../plugin/router/nat-pmp-codec.js";
import {
  answersPcpMap,
  decodePcpMapRequest,
  decodePcpReply,
  decodePcpRequestHeader,
  encodePcpAnnounceRequest,
  encodePcpMapRequest,
  encodePcpResponse,
  type PcpMapRequest,
  type PcpResponse,
} from "../../plugin/router/pcp-codec.js";
import { arbitraryPcpMapRequest, arbitraryPcpResponse } from "../arbitraries.js";

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const octets = (address: string) => address.split(".").map(Number);
/** ::ffff:a.b.c.d as RFC 6887 §5 writes an IPv4 address in a 128-bit field. */
const mapped = (address: string) => [...new Array(10).fill(0), 0xff, 0xff, ...octets(address)];
const nonce = Uint8Array.from({ length: 12 }, (_, i) => i + 1);

const request: PcpMapRequest = {
  lifetime: 7200,
  clientAddress: "192.168.1.23" as Ipv4Address,
  nonce,
  protocol: "tcp",
  internalPort: 2222,
  suggestedExternalPort: 2222,
  suggestedExternalAddress: null,
};

describe("a MAP request, as RFC 6887 §7.1 and §11.1 lay it out", () => {
  it("is 60 bytes: version 2, opcode MAP with R clear, lifetime, mapped client address, nonce, protocol, ports, no-preference address", () => {
    const bytes = encodePcpMapRequest(request);
    expect(bytes.length).toBe(60);
    expect(bytes[0]).toBe(2);
    expect(bytes[1]).toBe(0x01);
    expect([...bytes.subarray(2, 4)]).toEqual([0, 0]);
    expect(view(bytes).getUint32(4)).toBe(7200);
    expect([...bytes.subarray(8, 24)]).toEqual(mapped("192.168.1.23"));
    expect([...bytes.subarray(24, 36)]).toEqual([...nonce]);
    expect(bytes[36]).toBe(6);
    expect([...bytes.subarray(37, 40)]).toEqual([0, 0, 0]);
    expect(view(bytes).getUint16(40)).toBe(2222);
    expect(view(bytes).getUint16(42)).toBe(2222);
    expect([...bytes.subarray(44, 60)]).toEqual(mapped("0.0.0.0"));
  });

  it("writes UDP as 17, a suggested address mapped, and lifetime 0 for a delete", () => {
    const bytes = encodePcpMapRequest({ ...request, protocol: "udp", lifetime: 0, suggestedExternalAddress: "203.0.113.9" as Ipv4Address });
    expect(bytes[36]).toBe(17);
    expect(view(bytes).getUint32(4)).toBe(0);
    expect([...bytes.subarray(44, 60)]).toEqual(mapped("203.0.113.9"));
  });

  it("puts every field of any request at its offset", () => {
    fc.assert(
      fc.property(arbitraryPcpMapRequest, (r) => {
        const bytes = encodePcpMapRequest(r);
        expect(bytes.length).toBe(60);
        expect([bytes[0], bytes[1], view(bytes).getUint32(4)]).toEqual([2, 1, r.lifetime]);
        expect([...bytes.subarray(8, 24)]).toEqual(mapped(r.clientAddress));
        expect([...bytes.subarray(24, 36)]).toEqual([...r.nonce]);
        expect(bytes[36]).toBe(r.protocol === "tcp" ? 6 : 17);
        expect([view(bytes).getUint16(40), view(bytes).getUint16(42)]).toEqual([r.internalPort, r.suggestedExternalPort]);
        expect([...bytes.subarray(44, 60)]).toEqual(mapped(r.suggestedExternalAddress ?? "0.0.0.0"));
        // Reserved bits are zero.
        expect([bytes[2], bytes[3], bytes[37], bytes[38], bytes[39]]).toEqual([0, 0, 0, 0, 0]);
      }),
    );
  });

  it("reads back as itself on the gateway's side", () => {
    fc.assert(
      fc.property(arbitraryPcpMapRequest, (r) => {
        expect(decodePcpMapRequest(encodePcpMapRequest(r))).toEqual({ ok: true, value: r });
      }),
    );
  });

  it("refuses values no field can hold: a bug of the caller, not the router's", () => {
    expect(() => encodePcpMapRequest({ ...request, internalPort: 70000 })).toThrow(RangeError);
    expect(() => encodePcpMapRequest({ ...request, lifetime: -1 })).toThrow(RangeError);
    expect(() => encodePcpMapRequest({ ...request, nonce: new Uint8Array(11) })).toThrow(/12 bytes/);
    expect(() => encodePcpMapRequest({ ...request, clientAddress: "fe80::1" as Ipv4Address })).toThrow(/IPv4/);
  });
});

describe("an ANNOUNCE request (§14.1), and the gateway's first look at any request", () => {
  it("is the 24-byte header alone: version 2, opcode 0, lifetime 0, the mapped client address", () => {
    const bytes = encodePcpAnnounceRequest("10.0.0.5" as Ipv4Address);
    expect(bytes.length).toBe(24);
    expect([bytes[0], bytes[1], bytes[2], bytes[3], view(bytes).getUint32(4)]).toEqual([2, 0, 0, 0, 0]);
    expect([...bytes.subarray(8, 24)]).toEqual(mapped("10.0.0.5"));
    expect(decodePcpRequestHeader(bytes)).toEqual({ ok: true, value: { version: 2, opcode: 0, lifetime: 0, clientAddress: "10.0.0.5" } });
  });

  it("reads the version and opcode of another version's request, for the gateway to answer UNSUPP_VERSION", () => {
    expect(decodePcpRequestHeader(Uint8Array.of(1, 1, 0, 0))).toEqual({ ok: true, value: { version: 1, opcode: 1, lifetime: 0, clientAddress: null } });
    expect(decodePcpRequestHeader(encodePcpMapRequest(request))).toEqual({ ok: true, value: { version: 2, opcode: 1, lifetime: 7200, clientAddress: "192.168.1.23" } });
    expect(decodePcpRequestHeader(Uint8Array.of(2, 0x81))).toMatchObject({ ok: false, problem: { code: "direction" } });
  });
});

describe("a response, as RFC 6887 §7.2 and §11.1 lay it out", () => {
  const response: PcpResponse = {
    opcode: 1,
    resultCode: 0,
    lifetime: 3600,
    epoch: 123_456,
    map: { nonce, protocol: "udp", internalPort: 5353, externalPort: 40_001, externalAddress: "198.51.100.4" as Ipv4Address },
  };

  it("is 60 bytes: version, R set with opcode, result, lifetime, epoch, 96 reserved bits, then the MAP data", () => {
    const bytes = encodePcpResponse({ ...response, resultCode: 0 });
    expect(bytes.length).toBe(60);
    expect([bytes[0], bytes[1], bytes[2], bytes[3]]).toEqual([2, 0x81, 0, 0]);
    expect(view(bytes).getUint32(4)).toBe(3600);
    expect(view(bytes).getUint32(8)).toBe(123_456);
    expect([...bytes.subarray(12, 24)]).toEqual(new Array(12).fill(0));
    expect([...bytes.subarray(24, 36)]).toEqual([...nonce]);
    expect(bytes[36]).toBe(17);
    expect(view(bytes).getUint16(40)).toBe(5353);
    expect(view(bytes).getUint16(42)).toBe(40_001);
    expect([...bytes.subarray(44, 60)]).toEqual(mapped("198.51.100.4"));
  });

  it("puts the result code in byte 3 and, for an error answered before the opcode was read, stops after the 24-byte header", () => {
    const bytes = encodePcpResponse({ ...response, resultCode: 2, map: null });
    expect(bytes.length).toBe(24);
    expect(bytes[3]).toBe(2);
  });

  it("reads back as itself on the client's side, MAP data or header alone", () => {
    fc.assert(
      fc.property(arbitraryPcpResponse, (r) => {
        expect(decodePcpReply(encodePcpResponse(r))).toEqual({ ok: true, value: { kind: "pcp", response: r } });
      }),
    );
  });

  it("reads the same with options after the MAP data (ignored), up to 1100 bytes", () => {
    fc.assert(
      fc.property(arbitraryPcpResponse.filter((r) => r.map !== null), fc.integer({ min: 1, max: 260 }), (r, words) => {
        const bytes = encodePcpResponse(r);
        const longer = new Uint8Array(Math.min(1100, bytes.length + words * 4));
        longer.set(bytes);
        longer.fill(0xab, bytes.length);
        expect(decodePcpReply(longer)).toEqual({ ok: true, value: { kind: "pcp", response: r } });
      }),
    );
  });
});

describe("what the client drops (§8.3), as data", () => {
  const good = encodePcpResponse({ opcode: 1, resultCode: 0, lifetime: 7200, epoch: 1, map: { nonce, protocol: "tcp", internalPort: 22, externalPort: 2222, externalAddress: "198.51.100.4" as Ipv4Address } });
  const problem = (bytes: Uint8Array) => {
    const read = decodePcpReply(bytes);
    return read.ok ? null : read.problem.code;
  };

  it("drops fewer than 4 bytes, a header cut short, a success without its MAP data, and more than 1100 bytes", () => {
    expect(problem(good.subarray(0, 3))).toBe("short");
    expect(problem(good.subarray(0, 20))).toBe("short");
    expect(problem(good.subarray(0, 24))).toBe("short");
    expect(problem(good.subarray(0, 56))).toBe("short");
    const huge = new Uint8Array(1104);
    huge.set(good);
    expect(problem(huge)).toBe("long");
  });

  it("drops a length that is not a whole number of 32-bit words", () => {
    const odd = new Uint8Array(61);
    odd.set(good);
    expect(problem(odd)).toBe("misaligned");
  });

  it("drops a request (R bit clear): its own packet reflected, or another client's", () => {
    expect(problem(encodePcpMapRequest(request))).toBe("direction");
  });

  it("drops a MAP response whose protocol is neither TCP nor UDP, or whose address is not IPv4-mapped", () => {
    const sctp = good.slice();
    sctp[36] = 132;
    expect(problem(sctp)).toBe("field");
    const ipv6 = good.slice();
    ipv6[44] = 0x20;
    expect(problem(ipv6)).toBe("field");
  });

  it("never decodes a success MAP response cut anywhere short", () => {
    for (let length = 0; length < 60; length++) expect(decodePcpReply(good.subarray(0, length)).ok, `${length} bytes`).toBe(false);
  });

  it("never throws, whatever the bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => {
        const read = decodePcpReply(bytes);
        if (read.ok) expect(["pcp", "other-version"]).toContain(read.value.kind);
        else expect(["short", "long", "misaligned", "direction", "field", "opcode"]).toContain(read.problem.code);
        expect(typeof decodePcpMapRequest(bytes).ok).toBe("boolean");
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws on a valid response with bytes flipped", () => {
    fc.assert(
      fc.property(arbitraryPcpResponse, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (r, flips) => {
        const bytes = encodePcpResponse(r);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        expect(typeof decodePcpReply(bytes).ok).toBe("boolean");
      }),
    );
  });
});

describe("telling a NAT-PMP gateway apart (RFC 6887 §9)", () => {
  it("reads NAT-PMP's version-0 'unsupported version' answer to a PCP request as another version, not as PCP", () => {
    const natPmp = encodeNatPmpResponse({ kind: "error", opcode: 1, resultCode: 1, epoch: 99 });
    expect([...natPmp.subarray(0, 4)]).toEqual([0, 0x81, 0, 1]);
    expect(decodePcpReply(natPmp)).toEqual({ ok: true, value: { kind: "other-version", version: 0 } });
  });

  it("reads a PCP server's UNSUPP_VERSION (result 1) as a PCP response, header alone", () => {
    const bytes = encodePcpResponse({ opcode: 1, resultCode: 1, lifetime: 1800, epoch: 5, map: null });
    expect(decodePcpReply(bytes)).toEqual({ ok: true, value: { kind: "pcp", response: { opcode: 1, resultCode: 1, lifetime: 1800, epoch: 5, map: null } } });
  });
});

describe("whether a response answers the request (§11.3)", () => {
  it("answers when nonce, protocol and internal port are the request's, whatever external port was granted", () => {
    fc.assert(
      fc.property(arbitraryPcpMapRequest, fc.integer({ min: 0, max: 0xffff }), (r, externalPort) => {
        const response: PcpResponse = { opcode: 1, resultCode: 0, lifetime: 60, epoch: 1, map: { nonce: r.nonce, protocol: r.protocol, internalPort: r.internalPort, externalPort, externalAddress: "198.51.100.4" as Ipv4Address } };
        expect(answersPcpMap(r, response)).toBe(true);
      }),
    );
  });

  it("does not answer with another nonce, protocol, internal port or opcode", () => {
    const map = { nonce, protocol: "tcp" as const, internalPort: 2222, externalPort: 2222, externalAddress: "198.51.100.4" as Ipv4Address };
    const response: PcpResponse = { opcode: 1, resultCode: 0, lifetime: 60, epoch: 1, map };
    expect(answersPcpMap(request, response)).toBe(true);
    const otherNonce = nonce.slice();
    otherNonce[11] = otherNonce[11]! ^ 1;
    expect(answersPcpMap(request, { ...response, map: { ...map, nonce: otherNonce } })).toBe(false);
    expect(answersPcpMap(request, { ...response, map: { ...map, protocol: "udp" } })).toBe(false);
    expect(answersPcpMap(request, { ...response, map: { ...map, internalPort: 22 } })).toBe(false);
    expect(answersPcpMap(request, { ...response, opcode: 0 })).toBe(false);
    // An error answered before the opcode's data was read names no nonce: it answers the exchange.
    expect(answersPcpMap(request, { ...response, resultCode: 2, map: null })).toBe(true);
  });
});
