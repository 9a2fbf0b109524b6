// The router side of a forward marked `router`: which ports should be mapped on the gateway,
// and what to do about each — map, renew, map again, delete, leave — as a pure plan from the
// recorded mappings, the forwards applied now, where the Mac is (gateway, own address) and the
// time. PF goes live first and never waits for this: the router's answer is only reported.
import { protocolsOf, type InterfaceName, type Ipv4Address } from "../../compiler/ir.js";
import { gatewayRestarted, type EpochReading } from "../router/epoch.js";
import type { GrantedMapping, Refusal } from "../router/mapping.js";
import { describeResult } from "../router/result-codes.js";
import { entryKey, type RouterEntry, type RouterState } from "./router-state.js";
import type { AppliedVm } from "./state.js";

/** Lease asked for (ROUTER-FACTS.md: Tailscale and NAT-PMP's recommendation). */
export const REQUESTED_LIFETIME = 7200;
/** Ports of one forward's range mapped at most: the DSL refuses `router` on longer ranges (LW802); this guards a recorded spec. */
export const MAX_MAPPED_PORTS_PER_FORWARD = 64;
/** After a refusal or silence, the watcher asks again this much later. */
export const RETRY_AFTER_MS = 5 * 60_000;
/** A permanent mapping whose deletion failed is tried again this much later. */
export const DELETE_RETRY_MS = 60_000;

/** One port to map: a forward's host port, one protocol. */
export interface WantedMapping {
  instance: string;
  forward: string;
  protocol: "tcp" | "udp";
  port: number;
  allowUpnp: boolean;
  /** The WAN interface the forward serves: the mapping points at the Mac's address there. */
  interface: InterfaceName;
}

/** Where mappings are made now, or why they cannot be. */
export type RouterPlace =
  | { ok: true; gateway: Ipv4Address; clientAddress: Ipv4Address; interface: InterfaceName }
  | { ok: false; problem: string };

/** The forwards marked `router`, each port of their ranges and each protocol; ports past the cap are listed in `overflow`. */
export function wantedMappings(vms: readonly AppliedVm[], defaultInterfaces: readonly string[]): { wanted: WantedMapping[]; overflow: string[] } {
  const wanted: WantedMapping[] = [];
  const overflow: string[] = [];
  for (const vm of vms) {
    for (const forward of vm.spec.forwards) {
      if (!forward.router) continue;
      const iface = (forward.interfaces?.[0] ?? defaultInterfaces[0] ?? "en0") as InterfaceName;
      const last = Math.min(forward.host.last, forward.host.first + MAX_MAPPED_PORTS_PER_FORWARD - 1);
      if (last < forward.host.last) overflow.push(`${vm.instance}/${forward.name}: only host ports ${forward.host.first}-${last} are mapped on the router (at most ${MAX_MAPPED_PORTS_PER_FORWARD} a forward)`);
      for (const protocol of protocolsOf(forward.protocol)) {
        for (let port = forward.host.first; port <= last; port++) {
          wanted.push({ instance: vm.instance, forward: forward.name, protocol, port, allowUpnp: forward.router.upnp, interface: iface });
        }
      }
    }
  }
  return { wanted, overflow };
}

export type RouterStep =
  /** Ask for a mapping: a new one, a renewal (`renewing` has the nonce and protocol to keep), or after a restart. */
  | { kind: "map"; wanted: WantedMapping; renewing: RouterEntry | null; why: "new" | "renew" | "retry" | "restart" | "moved" }
  /** Delete a mapping no forward wants any more (down, a VM stopping, uninstall). */
  | { kind: "unmap"; entry: RouterEntry }
  /** Nothing to do now. */
  | { kind: "keep"; entry: RouterEntry }
  /** Cannot map here (no gateway, no address on the WAN interface): recorded with the reason. */
  | { kind: "unplaced"; wanted: WantedMapping; problem: string };

export interface RouterPlanInput {
  recorded: RouterState;
  wanted: readonly WantedMapping[];
  place: RouterPlace;
  /** Milliseconds since 1970. */
  now: number;
  /** The gateway lost its mappings (an epoch went back): map everything again. */
  restarted: boolean;
  /** Ask again now for ports the router refused or did not answer (a command the user typed), not when due. */
  retryNow: boolean;
}

export function planRouterSync(input: RouterPlanInput): RouterStep[] {
  const { recorded, place, now } = input;
  const byKey = new Map(recorded.entries.map((e) => [entryKey(e), e]));
  const wantedKeys = new Set(input.wanted.map(entryKey));
  const steps: RouterStep[] = [];
  // What no forward wants any more is deleted where it was made (a mapping), or forgotten (a refusal).
  for (const entry of recorded.entries) if (!wantedKeys.has(entryKey(entry)) && entry.mapping) steps.push({ kind: "unmap", entry });
  for (const wanted of input.wanted) {
    const entry = byKey.get(entryKey(wanted)) ?? null;
    if (!place.ok) {
      steps.push({ kind: "unplaced", wanted, problem: place.problem });
      continue;
    }
    if (wanted.interface !== place.interface) {
      steps.push({ kind: "unplaced", wanted, problem: `the forward serves ${wanted.interface}, but the default route (and so the router LimaWAN asks) is on ${place.interface}` });
      continue;
    }
    if (!entry) {
      steps.push({ kind: "map", wanted, renewing: null, why: "new" });
      continue;
    }
    const mapping = entry.mapping;
    if (!mapping) {
      const due = input.retryNow || entry.dueAt === null || entry.dueAt <= now;
      steps.push(due ? { kind: "map", wanted, renewing: null, why: "retry" } : { kind: "keep", entry });
      continue;
    }
    // The Mac moved (another gateway, another address of its own): the old mapping points nowhere.
    if (recorded.gateway !== place.gateway || mapping.clientAddress !== place.clientAddress) {
      steps.push({ kind: "map", wanted, renewing: null, why: "moved" });
      continue;
    }
    if (input.restarted && mapping.via !== "upnp") steps.push({ kind: "map", wanted, renewing: entry, why: "restart" });
    else if (entry.dueAt !== null && entry.dueAt <= now) steps.push({ kind: "map", wanted, renewing: entry, why: "renew" });
    else steps.push({ kind: "keep", entry });
  }
  return steps;
}

/**
 * A granted mapping as recorded: it expires with its lease; it is renewed at a point between
 * 1/2 and 5/8 of the lease (RFC 6887 §11.2.1; `jitter` in [0, 1) picks it, so many Macs behind
 * one router do not renew at once). A permanent UPnP mapping (lifetime 0) is never renewed.
 */
export function grantedEntry(wanted: WantedMapping, mapping: GrantedMapping, now: number, jitter: number): RouterEntry {
  const lease = mapping.lifetime * 1000;
  return {
    ...identity(wanted),
    mapping,
    expiresAt: mapping.lifetime === 0 ? null : now + lease,
    dueAt: mapping.lifetime === 0 ? null : now + Math.floor(lease * (0.5 + 0.125 * Math.min(Math.max(jitter, 0), 1))),
    problem: null,
    refusal: null,
  };
}

/** No mapping, and why; asked again when due. */
export function failedEntry(wanted: WantedMapping, problem: string, refusal: Refusal | null, now: number): RouterEntry {
  return { ...identity(wanted), mapping: null, expiresAt: null, dueAt: now + RETRY_AFTER_MS, problem, refusal };
}

function identity(wanted: WantedMapping): Pick<RouterEntry, "instance" | "forward" | "protocol" | "port" | "allowUpnp"> {
  return { instance: wanted.instance, forward: wanted.forward, protocol: wanted.protocol, port: wanted.port, allowUpnp: wanted.allowUpnp };
}

const PROTOCOL_NAMES = { pcp: "PCP", "nat-pmp": "NAT-PMP", upnp: "UPnP" } as const;

export function protocolName(via: keyof typeof PROTOCOL_NAMES): string {
  return PROTOCOL_NAMES[via];
}

/** Why the router gave no mapping, for users: the router's own code and its meaning when it gave one. */
export function describeRefusal(refusal: Refusal): string {
  switch (refusal.kind) {
    case "refused":
      return `the router refused: ${describeResult(refusal.result)}`;
    case "no-answer":
      return `the router did not answer (${refusal.tried.map(protocolName).join(", ")}${refusal.tried.includes("upnp") ? "" : "; UPnP was not tried: `router upnp` allows it"})`;
    case "unusable":
      return `${protocolName(refusal.via)}: ${refusal.detail}`;
  }
}

/** Whether the gateway restarted since the recorded readings, by either protocol's epoch (epoch.ts). */
export function restartSeen(recorded: RouterState["epochs"], now: { pcp: EpochReading | null; natPmp: EpochReading | null }): boolean {
  return Boolean((recorded.pcp && now.pcp && gatewayRestarted("pcp", recorded.pcp, now.pcp)) || (recorded.natPmp && now.natPmp && gatewayRestarted("nat-pmp", recorded.natPmp, now.natPmp)));
}

/** The epochs to keep: the newest reading of each protocol, from the check or from the mappings granted. */
export function latestEpochs(previous: RouterState["epochs"], readings: ReadonlyArray<{ via: "pcp" | "nat-pmp"; reading: EpochReading }>): RouterState["epochs"] {
  const next = { ...previous };
  for (const { via, reading } of readings) {
    const key = via === "pcp" ? "pcp" : "natPmp";
    if (!next[key] || next[key].receivedAt <= reading.receivedAt) next[key] = reading;
  }
  return next;
}

/** The earliest time something is due (a renewal, a retry), for the watcher's timer. */
export function nextDue(entries: readonly RouterEntry[]): number | null {
  const due = entries.map((e) => e.dueAt).filter((t): t is number => t !== null);
  return due.length > 0 ? Math.min(...due) : null;
}
