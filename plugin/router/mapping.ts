// A router mapping as the rest of LimaWAN sees it, whichever protocol made it, and the pure
// decisions about the order protocols are tried in (ROUTER-FACTS.md: PCP first, NAT-PMP when
// PCP gets no answer or answers in another version, UPnP last and only where allowed).
// Everything here is plain JSON-able data: the state file can keep a mapping as it is.
import type { Ipv4Address } from "../../compiler/ir.js";
import type { TransportProtocol } from "./packet.js";
import { PCP_RESULT, type ResultCode, type RouterProtocol } from "./result-codes.js";
import type { ConnectionServiceType } from "./upnp-igd.js";

export type { RouterProtocol, TransportProtocol };

export interface MapRequest {
  /** The Mac's own address on the WAN interface: requests are sent from it, and the router maps to it. */
  clientAddress: Ipv4Address;
  protocol: TransportProtocol;
  /** The forward's host port on the Mac (PF takes it from there to the VM). */
  internalPort: number;
  /** The external port asked for: the same host port. The router may grant another. */
  externalPort: number;
  /** Seconds asked for (7200); the router may grant less. */
  lifetime: number;
  /** UPnP may be tried (`router upnp`). */
  allowUpnp: boolean;
  /** Shown in a UPnP router's table. */
  description: string;
  /** A renewal: the PCP nonce of the mapping being renewed (24 hex digits), kept for its whole life (RFC 6887 §11.1). */
  nonce?: string | null;
  /** Start with the protocol that answered last time instead of probing PCP first. */
  prefer?: RouterProtocol | null;
}

export interface GrantedMapping {
  via: RouterProtocol;
  protocol: TransportProtocol;
  clientAddress: Ipv4Address;
  internalPort: number;
  /** The port the router opened, which may differ from the one asked for. */
  externalPort: number;
  /** The router's external address, when it said (PCP always does; NAT-PMP and UPnP when asked). */
  externalAddress: Ipv4Address | null;
  /** Seconds granted; 0 is a UPnP mapping without expiry (the router granted only permanent ones). */
  lifetime: number;
  /** PCP's epoch or NAT-PMP's seconds since start of epoch; null for UPnP. */
  epoch: number | null;
  /** When the grant arrived, in the client's clock seconds: with `epoch`, how a restart is seen (epoch.ts). */
  receivedAt: number;
  /** PCP: the mapping's nonce (24 hex digits), to renew and delete it with. */
  nonce: string | null;
  /** UPnP: where the mapping was made, to delete it there (checked against the gateway again). */
  upnp: { controlUrl: string; serviceType: ConnectionServiceType } | null;
}

/** What one protocol did with one request. */
export type AttemptResult =
  | { kind: "granted" }
  | { kind: "refused"; result: ResultCode }
  | { kind: "no-answer" }
  /** The gateway answered in another version: it speaks another protocol on this port. */
  | { kind: "other-version"; version: number }
  /** It answered, but not usably (unreadable, a LOCATION off the gateway, a socket error): the detail is ours, printable. */
  | { kind: "unusable"; detail: string };

export interface Attempt {
  via: RouterProtocol;
  result: AttemptResult;
}

export type MapOutcome =
  | { ok: true; mapping: GrantedMapping; attempts: Attempt[] }
  | { ok: false; refusal: Refusal; attempts: Attempt[] };

/** Why there is no mapping: the router's own refusal when one came, else what was heard. */
export type Refusal =
  | { kind: "refused"; via: RouterProtocol; result: ResultCode }
  | { kind: "no-answer"; tried: RouterProtocol[] }
  | { kind: "unusable"; via: RouterProtocol; detail: string };

/** The order to try protocols in for one request. */
export function protocolOrder(allowUpnp: boolean, prefer: RouterProtocol | null = null): RouterProtocol[] {
  const order: RouterProtocol[] = ["pcp", "nat-pmp", ...(allowUpnp ? (["upnp"] as const) : [])];
  return prefer && order.includes(prefer) ? [prefer, ...order.filter((p) => p !== prefer)] : order;
}

/**
 * Whether to go on to the next protocol after an attempt that did not grant. A gateway that
 * speaks PCP and refuses has given its answer to PCP and NAT-PMP alike (one box, one policy),
 * so only UPnP — a separate service with its own settings — is still worth asking.
 */
export function nextProtocol(order: readonly RouterProtocol[], attempt: Attempt): RouterProtocol | null {
  const rest = order.slice(order.indexOf(attempt.via) + 1);
  if (attempt.result.kind === "granted") return null;
  const pcpSpoke = attempt.via === "pcp" && (attempt.result.kind === "refused" && attempt.result.result.code !== PCP_RESULT.UNSUPP_VERSION);
  return (pcpSpoke ? rest.filter((p) => p === "upnp") : rest)[0] ?? null;
}

/** The refusal to report after every attempt failed: the router's own code if one came, the last one. */
export function refusalOf(attempts: readonly Attempt[]): Refusal {
  const refused = attempts.filter((a) => a.result.kind === "refused").at(-1);
  if (refused && refused.result.kind === "refused") return { kind: "refused", via: refused.via, result: refused.result.result };
  const unusable = attempts.filter((a) => a.result.kind === "unusable").at(-1);
  if (unusable && unusable.result.kind === "unusable") return { kind: "unusable", via: unusable.via, detail: unusable.result.detail };
  return { kind: "no-answer", tried: attempts.map((a) => a.via) };
}

export function nonceToHex(nonce: Uint8Array): string {
  return Array.from(nonce, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** 24 hex digits → 12 bytes; null for anything else (a hand-edited state file). */
export function nonceFromHex(text: string): Uint8Array | null {
  if (!/^[0-9a-f]{24}$/.test(text)) return null;
  return Uint8Array.from({ length: 12 }, (_, i) => parseInt(text.slice(i * 2, i * 2 + 2), 16));
}
