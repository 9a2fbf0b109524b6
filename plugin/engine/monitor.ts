// What `monitor` shows, and the events `monitor --follow` reports, from what PF says: per applied
// forward its counters, its live states and their top sources, and its ban table with when each
// source was banned. Pure: the command reads PF and the state, this decides.
import { formatRange, protocolsOf } from "../../compiler/ir.js";
import { forwardPfNames } from "../../compiler/pf-names.js";
import type { LabelCounters, PfState, TableEntry } from "../host/pfctl.js";
import type { State } from "./state.js";

/** How many sources a forward lists by live states. */
const TOP_SOURCES = 5;

export interface Ban { address: string; since: string | null; ageSeconds: number | null }

export interface ForwardWatch {
  instance: string;
  forward: string;
  protocol: string;
  host: string;
  target: string;
  /** Its rules are in the loaded anchor (PF has counters for its label). */
  loaded: boolean;
  packets: number | null;
  bytes: number | null;
  /** Live states to the VM's guest ports, and the sources holding the most of them. */
  states: number;
  topSources: Array<{ address: string; states: number }>;
  /** null: the forward has no `limit`, so no ban table. */
  banTable: string | null;
  banned: Ban[];
}

export interface MonitorSnapshot { at: string; forwards: ForwardWatch[] }

export interface MonitorInput {
  state: State;
  counters: ReadonlyMap<string, LabelCounters> | null;
  pfStates: readonly PfState[];
  bans: ReadonlyMap<string, readonly TableEntry[]>;
  now: number;
}

export function monitorSnapshot(input: MonitorInput): MonitorSnapshot {
  const forwards: ForwardWatch[] = [];
  for (const vm of Object.values(input.state.vms)) {
    for (const forward of vm.spec.forwards) {
      const names = forwardPfNames(vm.spec, forward);
      const counters = input.counters?.get(names.label);
      const protocols: readonly string[] = protocolsOf(forward.protocol);
      const mine = input.pfStates.filter(
        (s) => s.internal.address === vm.address && protocols.includes(s.proto) && s.internal.port >= forward.guest.first && s.internal.port <= forward.guest.last,
      );
      const bySource = new Map<string, number>();
      for (const s of mine) bySource.set(s.remote.address, (bySource.get(s.remote.address) ?? 0) + 1);
      forwards.push({
        instance: vm.instance,
        forward: forward.name,
        protocol: forward.protocol,
        host: formatRange(forward.host),
        target: `${vm.address}:${formatRange(forward.guest)}`,
        loaded: counters !== undefined,
        packets: counters?.packets ?? null,
        bytes: counters?.bytes ?? null,
        states: mine.length,
        topSources: [...bySource].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, TOP_SOURCES).map(([address, states]) => ({ address, states })),
        banTable: names.banTable,
        banned: (names.banTable ? (input.bans.get(names.banTable) ?? []) : []).map((e) => ({
          address: e.address,
          since: e.cleared?.toISOString() ?? null,
          ageSeconds: e.cleared ? Math.max(0, Math.round((input.now - e.cleared.getTime()) / 1000)) : null,
        })),
      });
    }
  }
  return { at: new Date(input.now).toISOString(), forwards };
}

export type MonitorEvent =
  | { event: "banned" | "unbanned"; at: string; instance: string; forward: string; address: string }
  | { event: "forward-down" | "forward-up"; at: string; instance: string; forward: string; reason: string };

/** What changed between two snapshots: bans added and lifted, forwards that stopped or came back. */
export function monitorEvents(before: MonitorSnapshot | null, after: MonitorSnapshot): MonitorEvent[] {
  if (before === null) return [];
  const key = (f: ForwardWatch) => `${f.instance}/${f.forward}`;
  const old = new Map(before.forwards.map((f) => [key(f), f]));
  const events: MonitorEvent[] = [];
  for (const f of after.forwards) {
    const was = old.get(key(f));
    old.delete(key(f));
    const base = { at: after.at, instance: f.instance, forward: f.forward };
    if (was?.loaded && !f.loaded) events.push({ event: "forward-down", ...base, reason: "its rules are no longer loaded in PF" });
    if (was && !was.loaded && f.loaded) events.push({ event: "forward-up", ...base, reason: "its rules are loaded again" });
    const previously = new Set(was?.banned.map((b) => b.address) ?? []);
    const now = new Set(f.banned.map((b) => b.address));
    for (const address of now) if (!previously.has(address)) events.push({ event: "banned", ...base, address });
    for (const address of previously) if (!now.has(address)) events.push({ event: "unbanned", ...base, address });
  }
  for (const gone of old.values()) {
    if (gone.loaded) events.push({ event: "forward-down", at: after.at, instance: gone.instance, forward: gone.forward, reason: "LimaWAN no longer forwards it (its VM stopped, or down)" });
  }
  return events;
}

/** `30s`, `10m`, `2h`, `1d` → seconds; null when it is none of those. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as "s" | "m" | "h" | "d"];
}

/**
 * One `--follow` frame for a terminal: the cursor home, each line cleared to its end after it is
 * written, then the rest of the screen cleared. The old frame is overwritten in place, never
 * blanked first, so the screen does not flicker.
 */
export function redrawFrame(text: string): string {
  return `\x1b[H${text.split("\n").map((line) => `${line}\x1b[K`).join("\n")}\n\x1b[J`;
}
