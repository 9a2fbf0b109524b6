// NAT-PMP (RFC 6886) messages, both directions, as pure functions over bytes: the client's
// requests and its reading of replies, and the stand-in gateway's side (test/standins/gateway).
//
// External address (§3.2):     request [0 version][1 opcode 0]                            2 bytes
//                              response [0 version][1 128][2 result (16)][4 epoch (32)]
//                                       [8 external IPv4 address]                         12 bytes
// Map (§3.3), opcode 1 UDP, 2 TCP:
//                              request  [0 version][1 opcode][2 reserved (16)][4 internal port]
//                                       [6 suggested external port][8 lifetime (s, 32)]    12 bytes
//                              response [0 version][1 128 + opcode][2 result (16)][4 epoch (32)]
//                                       [8 internal port][10 mapped external port]
//                                       [12 lifetime (s, 32)]                              16 bytes
// "Epoch" is the gateway's seconds since its mapping table began (§3.6). A reply with a
// non-zero result may be the 8-byte header alone (an unsupported version or opcode, §3.5):
// its other fields mean nothing.
import type { Ipv4Address } from "../../compiler/ir.js";
import { decoded, dropped, ipv4At, ipv4Octets, MAX_PAYLOAD, requirePort, requireUint32, viewOf, type Decoded, type TransportProtocol } from "./packet.js";

export const NAT_PMP_VERSION = 0;
export const NAT_PMP_OPCODE_EXTERNAL_ADDRESS = 0;
export const NAT_PMP_OPCODE: Readonly<Record<TransportProtocol, number>> = { udp: 1, tcp: 2 };
const RESPONSE_OFFSET = 128;
const HEADER_SIZE = 8;
const EXTERNAL_ADDRESS_SIZE = 12;
const MAP_REQUEST_SIZE = 12;
const MAP_RESPONSE_SIZE = 16;

export interface NatPmpMapRequest {
  protocol: TransportProtocol;
  internalPort: number;
  /** 0: no preference (the gateway picks, usually the internal port). */
  suggestedExternalPort: number;
  /** Seconds; 0 deletes the mapping (§3.4). */
  lifetime: number;
}

/** What the stand-in gateway reads: the two requests it answers, or something else it refuses. */
export type NatPmpRequest =
  | { kind: "external-address" }
  | ({ kind: "map" } & NatPmpMapRequest)
  /** Another version (result 1) or an opcode NAT-PMP does not have (result 5). */
  | { kind: "other"; version: number; opcode: number };

export type NatPmpResponse =
  | { kind: "external-address"; resultCode: 0; epoch: number; externalAddress: Ipv4Address }
  | { kind: "map"; resultCode: 0; epoch: number; protocol: TransportProtocol; internalPort: number; externalPort: number; lifetime: number }
  /** A refusal: the header alone; the opcode is the request's. */
  | { kind: "error"; opcode: number; resultCode: number; epoch: number };

/** A PCP gateway answers NAT-PMP's version 0 in its own version 2 (RFC 6887 §9). */
export type NatPmpReply = { kind: "nat-pmp"; response: NatPmpResponse } | { kind: "other-version"; version: number };

export function encodeNatPmpExternalAddressRequest(): Uint8Array {
  return Uint8Array.of(NAT_PMP_VERSION, NAT_PMP_OPCODE_EXTERNAL_ADDRESS);
}

export function encodeNatPmpMapRequest(request: NatPmpMapRequest): Uint8Array {
  requirePort(request.internalPort, "internal port");
  requirePort(request.suggestedExternalPort, "suggested external port");
  requireUint32(request.lifetime, "lifetime");
  const bytes = new Uint8Array(MAP_REQUEST_SIZE);
  const view = viewOf(bytes);
  bytes[0] = NAT_PMP_VERSION;
  bytes[1] = NAT_PMP_OPCODE[request.protocol];
  view.setUint16(4, request.internalPort);
  view.setUint16(6, request.suggestedExternalPort);
  view.setUint32(8, request.lifetime);
  return bytes;
}

export function decodeNatPmpRequest(bytes: Uint8Array): Decoded<NatPmpRequest> {
  if (bytes.length < 2) return dropped("short", `${bytes.length} bytes; a request has at least 2`);
  if (bytes.length > MAX_PAYLOAD) return dropped("long", `${bytes.length} bytes; at most ${MAX_PAYLOAD}`);
  const [version, opcode] = [bytes[0]!, bytes[1]!];
  // §3.5: a packet with the top bit of the opcode set is a response; a gateway ignores it.
  if (opcode >= RESPONSE_OFFSET) return dropped("direction", "a response, not a request");
  if (version !== NAT_PMP_VERSION) return decoded({ kind: "other", version, opcode });
  if (opcode === NAT_PMP_OPCODE_EXTERNAL_ADDRESS) return decoded({ kind: "external-address" });
  const protocol = protocolOfOpcode(opcode);
  if (!protocol) return decoded({ kind: "other", version, opcode });
  if (bytes.length < MAP_REQUEST_SIZE) return dropped("short", `${bytes.length} bytes; a map request has ${MAP_REQUEST_SIZE}`);
  const view = viewOf(bytes);
  return decoded({ kind: "map", protocol, internalPort: view.getUint16(4), suggestedExternalPort: view.getUint16(6), lifetime: view.getUint32(8) });
}

export function encodeNatPmpResponse(response: NatPmpResponse): Uint8Array {
  requireUint32(response.epoch, "epoch");
  const opcode = response.kind === "external-address" ? NAT_PMP_OPCODE_EXTERNAL_ADDRESS : response.kind === "map" ? NAT_PMP_OPCODE[response.protocol] : response.opcode;
  if (!Number.isInteger(opcode) || opcode < 0 || opcode >= RESPONSE_OFFSET) throw new RangeError(`NAT-PMP opcode ${opcode}`);
  if (!Number.isInteger(response.resultCode) || response.resultCode < 0 || response.resultCode > 0xffff) throw new RangeError(`NAT-PMP result code ${response.resultCode}`);
  const size = response.kind === "external-address" ? EXTERNAL_ADDRESS_SIZE : response.kind === "map" ? MAP_RESPONSE_SIZE : HEADER_SIZE;
  const bytes = new Uint8Array(size);
  const view = viewOf(bytes);
  bytes[0] = NAT_PMP_VERSION;
  bytes[1] = RESPONSE_OFFSET + opcode;
  view.setUint16(2, response.resultCode);
  view.setUint32(4, response.epoch);
  if (response.kind === "external-address") {
    const octets = ipv4Octets(response.externalAddress);
    if (!octets) throw new RangeError(`not an IPv4 address: ${response.externalAddress}`);
    bytes.set(octets, 8);
  } else if (response.kind === "map") {
    requirePort(response.internalPort, "internal port");
    requirePort(response.externalPort, "external port");
    requireUint32(response.lifetime, "lifetime");
    view.setUint16(8, response.internalPort);
    view.setUint16(10, response.externalPort);
    view.setUint32(12, response.lifetime);
  }
  return bytes;
}

/** Any datagram that came back to a NAT-PMP request → the reply, or why it is dropped. */
export function decodeNatPmpReply(bytes: Uint8Array): Decoded<NatPmpReply> {
  if (bytes.length < 4) return dropped("short", `${bytes.length} bytes; a reply has at least 4`);
  if (bytes.length > MAX_PAYLOAD) return dropped("long", `${bytes.length} bytes; at most ${MAX_PAYLOAD}`);
  if (bytes[1]! < RESPONSE_OFFSET) return dropped("direction", "a request, not a response");
  if (bytes[0] !== NAT_PMP_VERSION) return decoded({ kind: "other-version", version: bytes[0]! });
  if (bytes.length < HEADER_SIZE) return dropped("short", `${bytes.length} bytes; the NAT-PMP header has ${HEADER_SIZE}`);
  const view = viewOf(bytes);
  const opcode = bytes[1]! - RESPONSE_OFFSET;
  const resultCode = view.getUint16(2);
  const epoch = view.getUint32(4);
  if (resultCode !== 0) return decoded({ kind: "nat-pmp", response: { kind: "error", opcode, resultCode, epoch } });
  if (opcode === NAT_PMP_OPCODE_EXTERNAL_ADDRESS) {
    if (bytes.length < EXTERNAL_ADDRESS_SIZE) return dropped("short", `${bytes.length} bytes; an external-address response has ${EXTERNAL_ADDRESS_SIZE}`);
    return decoded({ kind: "nat-pmp", response: { kind: "external-address", resultCode, epoch, externalAddress: ipv4At(bytes, 8) } });
  }
  const protocol = protocolOfOpcode(opcode);
  if (!protocol) return dropped("opcode", `opcode ${opcode} is not one NAT-PMP answers`);
  if (bytes.length < MAP_RESPONSE_SIZE) return dropped("short", `${bytes.length} bytes; a map response has ${MAP_RESPONSE_SIZE}`);
  return decoded({
    kind: "nat-pmp",
    response: { kind: "map", resultCode, epoch, protocol, internalPort: view.getUint16(8), externalPort: view.getUint16(10), lifetime: view.getUint32(12) },
  });
}

/** Whether a response answers this map request: its opcode, and on success its internal port (§3.3). */
export function answersNatPmpMap(request: NatPmpMapRequest, response: NatPmpResponse): boolean {
  if (response.kind === "error") return response.opcode === NAT_PMP_OPCODE[request.protocol];
  return response.kind === "map" && response.protocol === request.protocol && response.internalPort === request.internalPort;
}

export function answersNatPmpExternalAddress(response: NatPmpResponse): boolean {
  return response.kind === "external-address" || (response.kind === "error" && response.opcode === NAT_PMP_OPCODE_EXTERNAL_ADDRESS);
}

function protocolOfOpcode(opcode: number): TransportProtocol | null {
  return opcode === NAT_PMP_OPCODE.udp ? "udp" : opcode === NAT_PMP_OPCODE.tcp ? "tcp" : null;
}
