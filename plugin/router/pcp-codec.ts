// PCP (RFC 6887) MAP messages, both directions, as pure functions over bytes. The client
// encodes requests and decodes responses; the stand-in gateway (test/standins/gateway) the
// other way round, so the two halves are tested against each other and against the RFC's
// byte offsets (test/router/pcp-codec.test.ts).
//
// Request (§7.1, §11.1), 60 bytes:      Response (§7.2, §11.1), 60 bytes:
//    0  version = 2                         0  version = 2
//    1  R = 0 | opcode (MAP = 1)            1  R = 1 | opcode
//    2  reserved (16 bits)                  2  reserved (8 bits)
//    4  requested lifetime (s)              3  result code
//    8  client's IP address (128 bits)      4  lifetime (s)
//   24  mapping nonce (96 bits)             8  epoch time (s)
//   36  protocol (IANA number)             12  reserved (96 bits)
//   37  reserved (24 bits)                 24  mapping nonce
//   40  internal port                      36  protocol; 37 reserved
//   42  suggested external port            40  internal port
//   44  suggested external address        42  assigned external port
//                                          44  assigned external address
// Options may follow either; LimaWAN sends none and reads none. IPv4 addresses travel as
// IPv4-mapped IPv6 (::ffff:a.b.c.d, §5); "no preference" is ::ffff:0.0.0.0.
import type { Ipv4Address } from "../../compiler/ir.js";
import {
  decoded,
  dropped,
  IANA_PROTOCOL,
  ipv4At,
  ipv4Octets,
  MAX_PAYLOAD,
  requirePort,
  requireUint32,
  transportOf,
  viewOf,
  type Decoded,
  type Dropped,
  type TransportProtocol,
} from "./packet.js";

export const PCP_VERSION = 2;
export const PCP_OPCODE_ANNOUNCE = 0;
export const PCP_OPCODE_MAP = 1;
export const PCP_HEADER_SIZE = 24;
export const PCP_MAP_DATA_SIZE = 36;
export const PCP_MAP_SIZE = PCP_HEADER_SIZE + PCP_MAP_DATA_SIZE;
export const PCP_NONCE_SIZE = 12;
const RESPONSE_BIT = 0x80;

export interface PcpMapRequest {
  /** Seconds; 0 deletes the mapping (§15). */
  lifetime: number;
  /** The Mac's own address on the WAN interface: the router maps to it. */
  clientAddress: Ipv4Address;
  /** 96 random bits naming the mapping; renewals and the delete repeat it (§11.1). */
  nonce: Uint8Array;
  protocol: TransportProtocol;
  internalPort: number;
  /** 0: no preference. */
  suggestedExternalPort: number;
  /** null: no preference. */
  suggestedExternalAddress: Ipv4Address | null;
}

/** The MAP opcode's data in a response: what the router assigned (copied from the request on an error). */
export interface PcpMapData {
  nonce: Uint8Array;
  protocol: TransportProtocol;
  internalPort: number;
  externalPort: number;
  externalAddress: Ipv4Address;
}

export interface PcpResponse {
  opcode: number;
  resultCode: number;
  /** Granted lifetime on success; on an error, how long the error is expected to last (§7.4). */
  lifetime: number;
  /** Seconds since the server's state began; going backwards means it lost its mappings (§8.5). */
  epoch: number;
  /** null when the response carries no MAP data: another opcode, or an error answered before the opcode was read. */
  map: PcpMapData | null;
}

/**
 * What came back to a PCP request: a PCP response, or an answer in another version — a NAT-PMP
 * gateway answers version 2 with its own version 0 "unsupported version" (RFC 6887 §9,
 * RFC 6886 §3.5), which is how a client learns to fall back.
 */
export type PcpReply = { kind: "pcp"; response: PcpResponse } | { kind: "other-version"; version: number };

export function encodePcpMapRequest(request: PcpMapRequest): Uint8Array {
  requireUint32(request.lifetime, "lifetime");
  requirePort(request.internalPort, "internal port");
  requirePort(request.suggestedExternalPort, "suggested external port");
  const bytes = new Uint8Array(PCP_MAP_SIZE);
  const view = viewOf(bytes);
  bytes[0] = PCP_VERSION;
  bytes[1] = PCP_OPCODE_MAP;
  view.setUint32(4, request.lifetime);
  writeMappedIpv4(bytes, 8, request.clientAddress);
  writeMapData(bytes, { ...request, externalPort: request.suggestedExternalPort, externalAddress: request.suggestedExternalAddress });
  return bytes;
}

/** ANNOUNCE (§14.1): the header alone, lifetime 0. Any PCP server answers it: how `probe` asks "do you speak PCP?". */
export function encodePcpAnnounceRequest(clientAddress: Ipv4Address): Uint8Array {
  const bytes = new Uint8Array(PCP_HEADER_SIZE);
  bytes[0] = PCP_VERSION;
  bytes[1] = PCP_OPCODE_ANNOUNCE;
  writeMappedIpv4(bytes, 8, clientAddress);
  return bytes;
}

export interface PcpRequestHeader {
  version: number;
  opcode: number;
  lifetime: number;
  clientAddress: Ipv4Address | null;
}

/** The stand-in gateway's first look at a request: enough to answer another version or opcode (§9, §7.4). */
export function decodePcpRequestHeader(bytes: Uint8Array): Decoded<PcpRequestHeader> {
  if (bytes.length < 2) return dropped("short", `${bytes.length} bytes`);
  if (bytes[1]! & RESPONSE_BIT) return dropped("direction", "a response, not a request");
  if (bytes[0] !== PCP_VERSION) return decoded({ version: bytes[0]!, opcode: bytes[1]!, lifetime: 0, clientAddress: null });
  const shape = checkShape(bytes);
  if (shape) return shape;
  return decoded({ version: PCP_VERSION, opcode: bytes[1]!, lifetime: viewOf(bytes).getUint32(4), clientAddress: mappedIpv4At(bytes, 8) });
}

/** The stand-in gateway's side: a MAP request back to its fields (other opcodes and versions are the caller's to answer). */
export function decodePcpMapRequest(bytes: Uint8Array): Decoded<PcpMapRequest> {
  const shape = checkShape(bytes);
  if (shape) return shape;
  if (bytes[0] !== PCP_VERSION) return dropped("field", `version ${bytes[0]}, not ${PCP_VERSION}`);
  if (bytes[1]! & RESPONSE_BIT) return dropped("direction", "a response, not a request");
  if (bytes[1] !== PCP_OPCODE_MAP) return dropped("opcode", `opcode ${bytes[1]}, not MAP`);
  if (bytes.length < PCP_MAP_SIZE) return dropped("short", `${bytes.length} bytes; a MAP request has ${PCP_MAP_SIZE}`);
  const clientAddress = mappedIpv4At(bytes, 8);
  if (!clientAddress) return dropped("field", "the client address is not an IPv4-mapped address");
  const data = readMapData(bytes);
  if (!data.ok) return data;
  const { nonce, protocol, internalPort, externalPort, externalAddress } = data.value;
  return decoded({
    lifetime: viewOf(bytes).getUint32(4),
    clientAddress,
    nonce,
    protocol,
    internalPort,
    suggestedExternalPort: externalPort,
    suggestedExternalAddress: externalAddress === "0.0.0.0" ? null : externalAddress,
  });
}

/** The stand-in gateway's answer. `map: null` writes the 24-byte header alone (an error before the opcode was read). */
export function encodePcpResponse(response: PcpResponse): Uint8Array {
  requireUint32(response.lifetime, "lifetime");
  requireUint32(response.epoch, "epoch");
  if (!Number.isInteger(response.opcode) || response.opcode < 0 || response.opcode > 0x7f) throw new RangeError(`PCP opcode ${response.opcode}`);
  if (!Number.isInteger(response.resultCode) || response.resultCode < 0 || response.resultCode > 0xff) throw new RangeError(`PCP result code ${response.resultCode}`);
  const bytes = new Uint8Array(response.map ? PCP_MAP_SIZE : PCP_HEADER_SIZE);
  const view = viewOf(bytes);
  bytes[0] = PCP_VERSION;
  bytes[1] = RESPONSE_BIT | response.opcode;
  bytes[3] = response.resultCode;
  view.setUint32(4, response.lifetime);
  view.setUint32(8, response.epoch);
  if (response.map) writeMapData(bytes, response.map);
  return bytes;
}

/**
 * Any datagram that came back to a PCP request → the reply, or why it is dropped (§8.3: too
 * short, too long, not a whole number of words, not a response). Whether it answers *this*
 * request is `answersPcpMap`'s question.
 */
export function decodePcpReply(bytes: Uint8Array): Decoded<PcpReply> {
  if (bytes.length < 4) return dropped("short", `${bytes.length} bytes; a reply has at least 4`);
  if (bytes.length > MAX_PAYLOAD) return dropped("long", `${bytes.length} bytes; PCP messages are at most ${MAX_PAYLOAD}`);
  if (!(bytes[1]! & RESPONSE_BIT)) return dropped("direction", "a request, not a response");
  if (bytes[0] !== PCP_VERSION) return decoded({ kind: "other-version", version: bytes[0]! });
  const shape = checkShape(bytes);
  if (shape) return shape;
  const view = viewOf(bytes);
  const opcode = bytes[1]! & 0x7f;
  const resultCode = bytes[3]!;
  let map: PcpMapData | null = null;
  if (opcode === PCP_OPCODE_MAP && bytes.length >= PCP_MAP_SIZE) {
    const data = readMapData(bytes);
    if (!data.ok) return data;
    map = data.value;
  } else if (opcode === PCP_OPCODE_MAP && resultCode === 0) {
    return dropped("short", `${bytes.length} bytes; a successful MAP response has ${PCP_MAP_SIZE}`);
  }
  return decoded({ kind: "pcp", response: { opcode, resultCode, lifetime: view.getUint32(4), epoch: view.getUint32(8), map } });
}

/**
 * Whether a response answers this MAP request (§11.3): same opcode, and — when it carries MAP
 * data — the same nonce, protocol and internal port. Anything else is another exchange's, or
 * forged, and is ignored.
 */
export function answersPcpMap(request: PcpMapRequest, response: PcpResponse): boolean {
  if (response.opcode !== PCP_OPCODE_MAP) return false;
  if (!response.map) return response.resultCode !== 0;
  return sameBytes(response.map.nonce, request.nonce) && response.map.protocol === request.protocol && response.map.internalPort === request.internalPort;
}

function checkShape(bytes: Uint8Array): Dropped | null {
  if (bytes.length < PCP_HEADER_SIZE) return dropped("short", `${bytes.length} bytes; the PCP header has ${PCP_HEADER_SIZE}`);
  if (bytes.length > MAX_PAYLOAD) return dropped("long", `${bytes.length} bytes; PCP messages are at most ${MAX_PAYLOAD}`);
  if (bytes.length % 4 !== 0) return dropped("misaligned", `${bytes.length} bytes is not a whole number of 32-bit words`);
  return null;
}

function readMapData(bytes: Uint8Array): Decoded<PcpMapData> {
  const view = viewOf(bytes);
  const protocol = transportOf(bytes[36]!);
  if (!protocol) return dropped("field", `protocol ${bytes[36]} is neither TCP (6) nor UDP (17)`);
  const externalAddress = mappedIpv4At(bytes, 44);
  if (!externalAddress) return dropped("field", "the external address is not an IPv4-mapped address");
  return decoded({
    nonce: bytes.slice(24, 24 + PCP_NONCE_SIZE),
    protocol,
    internalPort: view.getUint16(40),
    externalPort: view.getUint16(42),
    externalAddress,
  });
}

function writeMapData(bytes: Uint8Array, data: { nonce: Uint8Array; protocol: TransportProtocol; internalPort: number; externalPort: number; externalAddress: Ipv4Address | null }): void {
  if (data.nonce.length !== PCP_NONCE_SIZE) throw new RangeError(`a PCP nonce has ${PCP_NONCE_SIZE} bytes, not ${data.nonce.length}`);
  requirePort(data.internalPort, "internal port");
  requirePort(data.externalPort, "external port");
  const view = viewOf(bytes);
  bytes.set(data.nonce, 24);
  bytes[36] = IANA_PROTOCOL[data.protocol];
  view.setUint16(40, data.internalPort);
  view.setUint16(42, data.externalPort);
  writeMappedIpv4(bytes, 44, data.externalAddress ?? ("0.0.0.0" as Ipv4Address));
}

function writeMappedIpv4(bytes: Uint8Array, offset: number, address: Ipv4Address): void {
  const octets = ipv4Octets(address);
  if (!octets) throw new RangeError(`not an IPv4 address: ${address}`);
  bytes[offset + 10] = 0xff;
  bytes[offset + 11] = 0xff;
  bytes.set(octets, offset + 12);
}

/** ::ffff:a.b.c.d → a.b.c.d; null for any other IPv6 address. */
function mappedIpv4At(bytes: Uint8Array, offset: number): Ipv4Address | null {
  for (let i = 0; i < 10; i++) if (bytes[offset + i] !== 0) return null;
  if (bytes[offset + 10] !== 0xff || bytes[offset + 11] !== 0xff) return null;
  return ipv4At(bytes, offset + 12);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
