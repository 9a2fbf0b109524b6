// What the PCP and NAT-PMP codecs share: a decoded packet or the reason it was dropped, as data
// (a router's bytes are hostile input: nothing here throws on them), and big-endian fields.
import ipaddr from "ipaddr.js";
import type { Ipv4Address } from "../../compiler/ir.js";

/** PCP and NAT-PMP both promise UDP payloads of at most 1100 bytes (RFC 6887 §7, RFC 6886 §3.1 shares the port). */
export const MAX_PAYLOAD = 1100;

export type PacketProblemCode =
  /** Fewer bytes than the message's fixed fields. */
  | "short"
  /** More than MAX_PAYLOAD, or more than the message can hold. */
  | "long"
  /** PCP messages are a whole number of 32-bit words (RFC 6887 §7). */
  | "misaligned"
  /** A request where a response was expected, or the other way round. */
  | "direction"
  /** Another opcode than the one asked (or one this codec does not read). */
  | "opcode"
  /** A field's value is not one the format allows (protocol number, address family). */
  | "field";

export interface PacketProblem { code: PacketProblemCode; detail: string }

export interface Dropped { ok: false; problem: PacketProblem }
export type Decoded<T> = { ok: true; value: T } | Dropped;

export function decoded<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

export function dropped(code: PacketProblemCode, detail: string): Dropped {
  return { ok: false, problem: { code, detail } };
}

/** The transport protocols a forward maps, with their IANA numbers (PCP's Protocol field). */
export type TransportProtocol = "tcp" | "udp";
export const IANA_PROTOCOL: Readonly<Record<TransportProtocol, number>> = { tcp: 6, udp: 17 };

export function transportOf(number: number): TransportProtocol | null {
  return number === 6 ? "tcp" : number === 17 ? "udp" : null;
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Dotted text → four bytes; null when it is not an IPv4 address. */
export function ipv4Octets(address: string): number[] | null {
  return ipaddr.IPv4.isValidFourPartDecimal(address) ? ipaddr.IPv4.parse(address).octets : null;
}

export function ipv4At(bytes: Uint8Array, offset: number): Ipv4Address {
  return Array.from(bytes.subarray(offset, offset + 4)).join(".") as Ipv4Address;
}

// The encoders' inputs are LimaWAN's own values: one out of range is a bug here, not the router's.
export function requirePort(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`${what} ${value} is not 0-65535`);
}

export function requireUint32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`${what} ${value} does not fit 32 bits`);
}
