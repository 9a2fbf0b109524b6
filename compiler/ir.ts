// The intermediate representation: what a VM wants exposed.
//
// Two stages with two types. `VmDraft` is what lowering makes of the syntax tree: typed, but
// its values are unchecked (a port may be 70000, an address may be "rdr-to"). `VmSpec` is
// what the validators return: every value has been checked and the text-bearing ones are
// branded, so the PF emitter — which accepts only `VmSpec` — cannot be handed unchecked
// user text. That is what makes rule injection impossible by construction.
import type { Span } from "./diagnostic.js";

export type Protocol = "tcp" | "udp" | "tcp+udp";
export interface PortRange { first: number; last: number }
export interface Located<T> { value: T; at: Span }

export interface ForwardDraft {
  name: Located<string>;
  /** The name was made up from protocol and port (`tcp-22`), not written by the user. */
  derivedName: boolean;
  protocol: Protocol;
  guest: Located<PortRange>;
  host: Located<PortRange>;
  from: Located<string>[] | null;
  on: Located<string>[] | null;
  limit: { count: Located<number>; seconds: Located<number> } | null;
  max: Located<number> | null;
  log: boolean;
  router: Located<RouterMapping> | null;
  at: Span;
}

/** The VM-wide statements: defaults for every forward, wherever they stand in the annotation. */
export interface VmStatements {
  interfaces: Located<string>[] | null;
  allowFrom: Located<string>[] | null;
  allowPrivileged: boolean;
  /** Traffic routed to the VM's address on a WAN interface passes (not only what its forwards redirect). */
  allowRouted: boolean;
}

export interface VmDraft extends VmStatements {
  vm: string;
  file: string;
  forwards: ForwardDraft[];
}

declare const brand: unique symbol;
type Branded<T, B extends string> = T & { readonly [brand]: B };

/** IPv4 address or network, canonical (`198.51.100.7`, `203.0.113.0/24`); see validate/addresses.ts. */
export type Cidr = Branded<string, "Cidr">;
/** A single IPv4 host address, canonical. */
export type Ipv4Address = Branded<string, "Ipv4Address">;
/** A macOS interface name such as `en0` or `bridge100`. */
export type InterfaceName = Branded<string, "InterfaceName">;
/** `[a-z][a-z0-9-]*`, unique within its VM. */
export type ForwardName = Branded<string, "ForwardName">;
/** A Lima instance name, restricted to what PF identifiers can carry. */
export type VmName = Branded<string, "VmName">;

export interface ConnectionLimit { count: number; seconds: number }

/**
 * `router`: also ask the Mac's router (the WAN interface's gateway) to map the forward's host
 * port(s) to the Mac, by PCP then NAT-PMP. It changes no PF rule: the mapping is the router's.
 */
export interface RouterMapping {
  /** `router upnp`: UPnP IGD may be tried too, when PCP and NAT-PMP get no answer (opt-in: UPnP's history is a security one). */
  upnp: boolean;
}

export interface Forward {
  name: ForwardName;
  protocol: Protocol;
  guest: PortRange;
  host: PortRange;
  /** Allowed sources; empty means any. */
  sources: Cidr[];
  /** WAN interfaces; null means the host's default (resolved at compile time). */
  interfaces: InterfaceName[] | null;
  limit: ConnectionLimit | null;
  max: number | null;
  log: boolean;
  /** Map the host port(s) on the router too; null: the forward ends at the Mac's WAN interface. */
  router: RouterMapping | null;
  /** Line of the expose statement in `file`, for diagnostics that point at it from elsewhere. */
  line: number;
}

export interface VmSpec {
  vm: VmName;
  file: string;
  forwards: Forward[];
  /**
   * `allow routed`: leave traffic routed to the VM's address (a LAN host with a route via the
   * Mac) alone. Without it, what arrives on a WAN interface for the VM and was not redirected by
   * one of its forwards is dropped: it would reach every port, around allow-lists and bans.
   */
  allowRouted: boolean;
}

const PROTOCOLS: Readonly<Record<Protocol, readonly ("tcp" | "udp")[]>> = { tcp: ["tcp"], udp: ["udp"], "tcp+udp": ["tcp", "udp"] };

/** The PF protocols a forward covers; shared arrays, since emit and the sweeps ask per forward. */
export function protocolsOf(protocol: Protocol): readonly ("tcp" | "udp")[] {
  return PROTOCOLS[protocol];
}

export function rangeLength(range: PortRange): number {
  return range.last - range.first + 1;
}

export function rangesOverlap(a: PortRange, b: PortRange): boolean {
  return a.first <= b.last && b.first <= a.last;
}

export function formatRange(range: PortRange): string {
  return range.first === range.last ? String(range.first) : `${range.first}-${range.last}`;
}
