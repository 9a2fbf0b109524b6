// What LimaWAN keeps of its router mappings in the state file: where they were made (the
// gateway, the Mac's address), each forward port's mapping or why it has none, the gateway's
// last epochs (a restart is an epoch going back) and the public address last told. A state file
// written before this record existed reads as one without mappings (the field is optional).
// Nothing here reaches PF: it is only ever sent back to the router it came from.
import type { Ipv4Address } from "../../compiler/ir.js";
import { parseIpv4Address } from "../../compiler/validate/addresses.js";
import type { EpochReading } from "../router/epoch.js";
import type { GrantedMapping, Refusal } from "../router/mapping.js";

export interface RouterEntry {
  instance: string;
  forward: string;
  protocol: "tcp" | "udp";
  /** The host port on the Mac (one port of the forward's range). */
  port: number;
  /** `router upnp`: UPnP may be tried. */
  allowUpnp: boolean;
  /** The mapping the router granted, or null (see `problem`). */
  mapping: GrantedMapping | null;
  /** Milliseconds since 1970: when the lease ends (null: no mapping, or a permanent one). */
  expiresAt: number | null;
  /** When to renew it (between 1/2 and 5/8 of the lease, RFC 6887 §11.2.1), or to try again after a failure. */
  dueAt: number | null;
  /** Why there is no mapping, in LimaWAN's words (printable; the router's code quoted). */
  problem: string | null;
  /** The router's own refusal, when it gave one. */
  refusal: Refusal | null;
}

export interface RouterState {
  /** The gateway the mappings were made on, and the Mac's address they point to. */
  gateway: Ipv4Address | null;
  clientAddress: Ipv4Address | null;
  /** The gateway's epoch as last heard per protocol. */
  epochs: { pcp: EpochReading | null; natPmp: EpochReading | null };
  /** The router's external address as last reported (what --on-public-address was last told). */
  publicAddress: Ipv4Address | null;
  entries: RouterEntry[];
}

export function emptyRouterState(): RouterState {
  return { gateway: null, clientAddress: null, epochs: { pcp: null, natPmp: null }, publicAddress: null, entries: [] };
}

export function entryKey(entry: Pick<RouterEntry, "instance" | "forward" | "protocol" | "port">): string {
  return `${entry.instance}/${entry.forward}/${entry.protocol}/${entry.port}`;
}

/** Why a recorded router record cannot be trusted, or null. Every field checked: the file is root's, but is read back as input. */
export function routerStateProblem(value: unknown): string | null {
  if (!isRecord(value)) return "`router` is not a router record";
  if (!nullOr(value.gateway, isAddress) || !nullOr(value.clientAddress, isAddress) || !nullOr(value.publicAddress, isAddress)) return "`router` names an address that is not IPv4";
  if (!isRecord(value.epochs) || !nullOr(value.epochs.pcp, isEpoch) || !nullOr(value.epochs.natPmp, isEpoch)) return "`router.epochs` is not two epoch readings";
  if (!Array.isArray(value.entries)) return "`router.entries` is not a list";
  for (const [i, entry] of value.entries.entries()) {
    const problem = entryProblem(entry);
    if (problem) return `router.entries[${i}] ${problem}`;
  }
  return null;
}

function entryProblem(entry: unknown): string | null {
  if (!isRecord(entry)) return "is not an object";
  if (typeof entry.instance !== "string" || typeof entry.forward !== "string") return "names no forward";
  if (entry.protocol !== "tcp" && entry.protocol !== "udp") return "has no transport protocol";
  if (!isPort(entry.port)) return "has no port";
  if (typeof entry.allowUpnp !== "boolean") return "does not say whether UPnP is allowed";
  if (!nullOr(entry.expiresAt, Number.isSafeInteger) || !nullOr(entry.dueAt, Number.isSafeInteger)) return "has a time that is not one";
  if (!nullOr(entry.problem, (v) => typeof v === "string")) return "has a problem that is not text";
  if (!nullOr(entry.refusal, isRecord)) return "has a refusal that is not one";
  if (!nullOr(entry.mapping, isMapping)) return "has a mapping that is not one";
  return null;
}

function isMapping(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const via = value.via;
  if (via !== "pcp" && via !== "nat-pmp" && via !== "upnp") return false;
  if (value.protocol !== "tcp" && value.protocol !== "udp") return false;
  if (!isAddress(value.clientAddress) || !nullOr(value.externalAddress, isAddress)) return false;
  if (!isPort(value.internalPort) || !isPort(value.externalPort)) return false;
  if (!isUint32(value.lifetime) || !nullOr(value.epoch, isUint32) || typeof value.receivedAt !== "number") return false;
  // What unmap needs: PCP its nonce, UPnP its control URL (checked against the gateway again before use).
  if (via === "pcp" && !(typeof value.nonce === "string" && /^[0-9a-f]{24}$/.test(value.nonce))) return false;
  if (via === "upnp" && !(isRecord(value.upnp) && typeof value.upnp.controlUrl === "string" && typeof value.upnp.serviceType === "string")) return false;
  return true;
}

function isEpoch(value: unknown): boolean {
  return isRecord(value) && isUint32(value.epoch) && typeof value.receivedAt === "number" && Number.isFinite(value.receivedAt);
}

function isAddress(value: unknown): boolean {
  return typeof value === "string" && parseIpv4Address(value) === value;
}

function isPort(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65_535;
}

function isUint32(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffff_ffff;
}

function nullOr(value: unknown, check: (v: unknown) => boolean): boolean {
  return value === null || check(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
