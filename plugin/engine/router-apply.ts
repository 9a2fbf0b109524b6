// Carries out the router plan (router-sync.ts) through the router client, after PF is live and
// outside the state lock: find the gateway and the Mac's address, see whether the gateway
// restarted, map, renew, delete; then record the result under the lock. Nothing here fails a
// command: what the router refuses, or an error talking to it, becomes a line to report.
import type { InterfaceName, Ipv4Address } from "../../compiler/ir.js";
import { excerpt } from "../../compiler/printable.js";
import type { Host } from "../host/index.js";
import type { EpochReading } from "../router/epoch.js";
import { behindAnotherNat, classifyExternalAddress, externalAddressProblem, type ExternalAddressKind } from "../router/external-address.js";
import type { GrantedMapping, Refusal } from "../router/mapping.js";
import { entryKey, type RouterEntry, type RouterState } from "./router-state.js";
import {
  DELETE_RETRY_MS,
  describeRefusal,
  failedEntry,
  grantedEntry,
  latestEpochs,
  nextDue,
  planRouterSync,
  protocolName,
  REQUESTED_LIFETIME,
  restartSeen,
  wantedMappings,
  type RouterPlace,
  type WantedMapping,
} from "./router-sync.js";
import { readStateFile, writeState, type AppliedVm } from "./state.js";

export interface RouterSyncRequest {
  /** The VMs forwarded now (after PF was changed): their `router` forwards are mapped, every other recorded mapping deleted. */
  vms: readonly AppliedVm[];
  /** The default WAN interfaces the anchor was rendered with. */
  interfaces: readonly string[];
  /** A command the user typed: ask again now for ports refused before. */
  retryNow: boolean;
}

export interface PublicAddressChange {
  address: Ipv4Address;
  previous: Ipv4Address | null;
  kind: ExternalAddressKind;
  gateway: Ipv4Address;
}

export interface RouterSyncReport {
  state: RouterState;
  /** What changed, one line each (mapped, renewed, deleted). */
  events: string[];
  /** What went wrong, one line each (refusals with the router's code, another NAT outside). */
  warnings: string[];
  /** The router's external address changed (or was first learnt). */
  publicAddress: PublicAddressChange | null;
  /** When the next renewal or retry is due (ms since 1970), for the watcher's timer. */
  nextDueAt: number | null;
}

export interface RouterClock {
  now: () => number;
  jitter: () => number;
}

const SYSTEM_CLOCK: RouterClock = { now: Date.now, jitter: Math.random };

/** Whether there is anything to do at all: no `router` forward and no mapping recorded means no I/O. */
export function routerInvolved(recorded: RouterState, vms: readonly AppliedVm[]): boolean {
  return recorded.entries.length > 0 || vms.some((vm) => vm.spec.forwards.some((f) => f.router));
}

export async function syncRouter(host: Host, recorded: RouterState, request: RouterSyncRequest, clock: RouterClock = SYSTEM_CLOCK): Promise<RouterSyncReport> {
  const { wanted, overflow } = wantedMappings(request.vms, request.interfaces);
  const events: string[] = [];
  const warnings: string[] = [...overflow];
  const place = wanted.length > 0 ? await findPlace(host, [...new Set(wanted.map((w) => w.interface))]) : ({ ok: false, problem: "no forward is marked `router`" } as const);

  // Before anything is decided: did the gateway lose its mappings (an epoch gone back)?
  const client = place.ok ? host.router(place.gateway) : null;
  const samePlace = place.ok && recorded.gateway === place.gateway && recorded.clientAddress === place.clientAddress;
  const epochRecorded = recorded.entries.some((e) => e.mapping && e.mapping.via !== "upnp");
  let reading: { pcp: EpochReading | null; natPmp: EpochReading | null; externalAddress: Ipv4Address | null } | null = null;
  if (client && place.ok && samePlace && epochRecorded) reading = await client.read(place.clientAddress).catch(() => null);
  const restarted = reading !== null && restartSeen(recorded.epochs, reading);
  if (restarted) events.push(`the router ${place.ok ? place.gateway : ""} restarted (its epoch went back) and lost its mappings: mapping them again`);

  const now = clock.now();
  const steps = planRouterSync({ recorded, wanted, place, now, restarted, retryNow: request.retryNow });
  const entries: RouterEntry[] = [];
  const epochReadings: Array<{ via: "pcp" | "nat-pmp"; reading: EpochReading }> = [];
  const grantedNow: GrantedMapping[] = [];
  if (reading?.pcp) epochReadings.push({ via: "pcp", reading: reading.pcp });
  if (reading?.natPmp) epochReadings.push({ via: "nat-pmp", reading: reading.natPmp });

  // Deleting first: a port that moved from one VM to another is free again on the router. Only
  // the gateway the Mac is behind now is talked to: after a move, the old address may be another
  // network's host, and the old mapping ends with its lease.
  const unmaps = steps.filter((s) => s.kind === "unmap");
  const currentGateway = unmaps.length === 0 ? null : place.ok ? place.gateway : ((await host.route.defaultRoute().catch(() => null))?.gateway ?? null);
  for (const step of unmaps) {
    if (currentGateway === null || currentGateway !== recorded.gateway) {
      const mapping = step.entry.mapping!;
      warnings.push(`the router's mapping of ${label(step.entry)} was made on ${recorded.gateway ?? "another gateway"}, which the Mac is no longer behind: it ends with its lease${mapping.lifetime === 0 ? " (a permanent UPnP mapping: delete it on that router's page)" : ""}`);
      continue;
    }
    const kept = await unmap(host, recorded, step.entry, events, warnings, now);
    if (kept) entries.push(kept);
  }
  // One gateway that answers nothing answers nothing for the next port either: do not wait out each.
  // (A silence without UPnP says nothing of a forward that allows UPnP.)
  let silent: { refusal: Refusal; upnpTried: boolean } | null = null;
  for (const step of steps) {
    if (step.kind === "keep") entries.push(step.entry);
    else if (step.kind === "unplaced") entries.push(failedEntry(step.wanted, step.problem, null, now));
    else if (step.kind === "map" && client && place.ok) {
      if (silent && (silent.upnpTried || !step.wanted.allowUpnp)) {
        entries.push(failedEntry(step.wanted, describeRefusal(silent.refusal), silent.refusal, now));
        continue;
      }
      const renewing = step.renewing?.mapping ?? null;
      const outcome = await client
        .map({
          clientAddress: place.clientAddress,
          protocol: step.wanted.protocol,
          internalPort: step.wanted.port,
          externalPort: renewing?.externalPort ?? step.wanted.port,
          lifetime: REQUESTED_LIFETIME,
          allowUpnp: step.wanted.allowUpnp,
          description: `LimaWAN ${step.wanted.instance}/${step.wanted.forward}`,
          nonce: renewing?.nonce ?? null,
          prefer: renewing?.via ?? null,
        })
        .catch((error: unknown) => ({ ok: false as const, refusal: { kind: "unusable" as const, via: "pcp" as const, detail: excerpt(String(error), 160) }, attempts: [] }));
      if (outcome.ok) {
        const entry = grantedEntry(step.wanted, outcome.mapping, clock.now(), clock.jitter());
        entries.push(entry);
        grantedNow.push(outcome.mapping);
        if (outcome.mapping.epoch !== null && outcome.mapping.via !== "upnp") epochReadings.push({ via: outcome.mapping.via, reading: { epoch: outcome.mapping.epoch, receivedAt: outcome.mapping.receivedAt } });
        const line = mappedLine(step.wanted, entry);
        events.push(step.why === "renew" ? `renewed ${line}` : `mapped ${line}`);
        if (outcome.mapping.externalPort !== step.wanted.port) warnings.push(`${label(step.wanted)}: the router opened external port ${outcome.mapping.externalPort}, not ${step.wanted.port} (that one is taken on the router): clients connect to ${outcome.mapping.externalPort}`);
      } else {
        const problem = describeRefusal(outcome.refusal);
        entries.push(failedEntry(step.wanted, problem, outcome.refusal, clock.now()));
        const before = step.renewing ?? null;
        if (!before || before.problem !== problem) warnings.push(`${label(step.wanted)}: not mapped on the router: ${problem}`);
        if (outcome.refusal.kind === "no-answer") silent = { refusal: outcome.refusal, upnpTried: step.wanted.allowUpnp };
      }
    }
  }

  const gateway = place.ok ? place.gateway : recorded.gateway;
  // What the router says now (its answer to opcode 0), else what a mapping granted in this run said.
  const external = place.ok ? (reading?.externalAddress ?? grantedNow.find((m) => m.externalAddress)?.externalAddress ?? null) : null;
  let publicAddress: PublicAddressChange | null = null;
  if (external && gateway && external !== recorded.publicAddress) {
    const kind = classifyExternalAddress(external);
    publicAddress = { address: external, previous: recorded.publicAddress, kind, gateway };
    const problem = externalAddressProblem(external, kind);
    if (problem && behindAnotherNat(kind)) warnings.push(`${problem.summary}. ${problem.hint}`);
    else if (!problem) events.push(`the router's public address is ${external}${recorded.publicAddress ? ` (was ${recorded.publicAddress})` : ""}`);
  }
  const state: RouterState = {
    gateway: entries.some((e) => e.mapping) || place.ok ? gateway : null,
    clientAddress: place.ok ? place.clientAddress : recorded.clientAddress,
    epochs: place.ok && recorded.gateway !== place.gateway ? latestEpochs({ pcp: null, natPmp: null }, epochReadings) : latestEpochs(recorded.epochs, epochReadings),
    publicAddress: external ?? (wanted.length > 0 ? recorded.publicAddress : null),
    entries: sortEntries(entries),
  };
  return { state, events, warnings, publicAddress, nextDueAt: nextDue(state.entries) };
}

/** Delete a mapping where it was made; a permanent one whose deletion failed is kept, to be deleted later (it would never expire). */
async function unmap(host: Host, recorded: RouterState, entry: RouterEntry, events: string[], warnings: string[], now: number): Promise<RouterEntry | null> {
  const mapping = entry.mapping!;
  if (!recorded.gateway) return null;
  const outcome = await host
    .router(recorded.gateway)
    .unmap(mapping)
    .catch((error: unknown) => ({ ok: false as const, refusal: { kind: "unusable" as const, via: mapping.via, detail: excerpt(String(error), 160) }, attempts: [] }));
  const what = `${entry.instance}/${entry.forward} ${entry.protocol} ${entry.port}`;
  if (outcome.ok) {
    events.push(`deleted the router's mapping of ${what} (external port ${mapping.externalPort}, ${protocolName(mapping.via)})`);
    return null;
  }
  const problem = describeRefusal(outcome.refusal);
  if (mapping.lifetime === 0) {
    warnings.push(`could not delete the router's permanent mapping of ${what} (${problem}); trying again later`);
    return { ...entry, dueAt: now + DELETE_RETRY_MS, problem: `to delete: ${problem}` };
  }
  warnings.push(`could not delete the router's mapping of ${what} (${problem}); it ends with its lease${entry.expiresAt ? ` at ${new Date(entry.expiresAt).toISOString()}` : ""}`);
  return null;
}

/** The default route's gateway, and the Mac's own address on the WAN interface (the router maps to it). */
async function findPlace(host: Host, wanInterfaces: readonly InterfaceName[]): Promise<RouterPlace> {
  const route = await host.route.defaultRoute().catch(() => null);
  if (!route) return { ok: false, problem: "no default route (`route -n get default` gave none), so no router to ask" };
  if (!route.gateway) return { ok: false, problem: `the default route on ${route.interface} has no IPv4 gateway (a point-to-point link?), so no router to ask` };
  // Forwards on another interface are reported one by one by the plan (router-sync.ts).
  if (!wanInterfaces.includes(route.interface)) return { ok: false, problem: `the forward serves ${wanInterfaces.join(", ")}, but the default route (and so the router LimaWAN asks) is on ${route.interface}` };
  const state = await host.ifconfig.describe(route.interface).catch(() => null);
  const clientAddress = state?.ipv4[0];
  if (!clientAddress) return { ok: false, problem: `${route.interface} has no IPv4 address for the router to map to` };
  return { ok: true, gateway: route.gateway, clientAddress, interface: route.interface };
}

function sortEntries(entries: RouterEntry[]): RouterEntry[] {
  return [...entries].sort((a, b) => entryKey(a).localeCompare(entryKey(b), "en", { numeric: true }));
}

function label(wanted: Pick<WantedMapping, "instance" | "forward" | "protocol" | "port">): string {
  return `${wanted.instance}/${wanted.forward} ${wanted.protocol} ${wanted.port}`;
}

function mappedLine(wanted: WantedMapping, entry: RouterEntry): string {
  const m = entry.mapping!;
  const until = entry.expiresAt === null ? "permanent" : `until ${new Date(entry.expiresAt).toISOString()}`;
  return `${label(wanted)} on the router: ${m.externalAddress ?? "?"}:${m.externalPort} (${protocolName(m.via)}, ${until})`;
}

/** Record the router's part of the state under the lock, leaving the rest as the last command wrote it. */
export async function recordRouter(host: Host, router: RouterState): Promise<void> {
  await host.state.locked(async () => {
    const read = await readStateFile(host);
    if (!read.ok) return; // the next up or down rebuilds it; mappings then expire with their leases
    if (JSON.stringify(read.state.router) === JSON.stringify(router)) return;
    await writeState(host, { ...read.state, router });
  });
}

export interface RouterTell {
  event(line: string): void;
  warning(line: string): void;
}

/**
 * After a change of PF (up, down, uninstall, a watcher run): the router made to match the VMs
 * forwarded now, and the result recorded. Never throws: PF is live whatever the router says,
 * so an error here is a warning. A dry run asks no router (it would change the router).
 */
export async function followRouter(host: Host, after: { vms: Record<string, AppliedVm>; interfaces: string[]; router: RouterState }, options: { retryNow: boolean; tell: RouterTell }): Promise<RouterSyncReport | null> {
  const vms = Object.values(after.vms);
  if (!routerInvolved(after.router, vms)) return null;
  if (host.dryRun) {
    const { wanted } = wantedMappings(vms, after.interfaces);
    const deleted = after.router.entries.filter((e) => e.mapping && !wanted.some((w) => entryKey(w) === entryKey(e)));
    for (const w of wanted) options.tell.event(`would ask the router to map ${label(w)}`);
    for (const e of deleted) options.tell.event(`would delete the router's mapping of ${label(e)}`);
    return null;
  }
  try {
    const report = await syncRouter(host, after.router, { vms, interfaces: after.interfaces, retryNow: options.retryNow });
    await recordRouter(host, report.state);
    for (const line of report.events) options.tell.event(line);
    for (const line of report.warnings) options.tell.warning(line);
    return report;
  } catch (error) {
    options.tell.warning(`the router could not be asked (${excerpt(error instanceof Error ? error.message : String(error), 200)}); the forwards work on the Mac's WAN interface regardless`);
    return null;
  }
}

/** What doctor and diagnose learn of the router: where it is, which protocols it answers, its external address. */
export interface RouterFacts {
  gateway: Ipv4Address | null;
  clientAddress: Ipv4Address | null;
  /** Why the router could not be asked (no default route, no gateway, no address on the WAN interface). */
  problem: string | null;
  speaks: { pcp: boolean; natPmp: boolean; upnp: boolean | null } | null;
  externalAddress: Ipv4Address | null;
}

/** Ask the default route's gateway which protocols it answers and its external address (UPnP only when a forward allows it). */
export async function readRouterFacts(host: Host, wanInterface: InterfaceName, allowUpnp: boolean): Promise<RouterFacts> {
  const place = await findPlace(host, [wanInterface]);
  if (!place.ok) {
    const route = await host.route.defaultRoute().catch(() => null);
    return { gateway: route?.gateway ?? null, clientAddress: null, problem: place.problem, speaks: null, externalAddress: null };
  }
  const client = host.router(place.gateway);
  const speaks = await client.probe({ clientAddress: place.clientAddress, allowUpnp }).catch(() => null);
  const external = speaks && (speaks.natPmp || speaks.upnp) ? await client.externalAddress({ clientAddress: place.clientAddress, allowUpnp }).catch(() => null) : null;
  return { gateway: place.gateway, clientAddress: place.clientAddress, problem: null, speaks, externalAddress: external?.ok ? external.address : null };
}
