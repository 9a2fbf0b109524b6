// monitor's view: the snapshot read from PF and LimaWAN's record, and drawn as text for people.
import type { Context } from "../context.js";
import { monitorSnapshot, type MonitorSnapshot } from "../engine/monitor.js";
import { appliedPfNames, readState, type State } from "../engine/state.js";
import type { TableEntry } from "../host/pfctl.js";

export async function snap(ctx: Context): Promise<MonitorSnapshot> {
  const { pfctl } = ctx.host;
  const state = await readState(ctx.host);
  const [counters, pfStates] = await Promise.all([pfctl.counters(), pfctl.states()]);
  const bans = new Map<string, TableEntry[]>();
  await Promise.all(banTables(state).map(async (table) => bans.set(table, await pfctl.tableEntriesSince(table))));
  return monitorSnapshot({ state, counters, pfStates, bans, now: Date.now() });
}

export function render(snapshot: MonitorSnapshot): string {
  if (snapshot.forwards.length === 0) return `${snapshot.at}  no forwards applied`;
  const lines = [`${snapshot.at}`];
  for (const f of snapshot.forwards) {
    lines.push("");
    lines.push(`${f.instance}/${f.forward}  ${f.protocol} ${f.host} -> ${f.target}  ${f.loaded ? "loaded" : "NOT LOADED"}  packets ${f.packets ?? "-"}  bytes ${f.bytes ?? "-"}  states ${f.states}`);
    if (f.topSources.length > 0) lines.push(`  top sources: ${f.topSources.map((s) => `${s.address} (${s.states})`).join(", ")}`);
    if (f.banTable) lines.push(f.banned.length === 0 ? "  banned: none" : `  banned (${f.banned.length}): ${f.banned.map((b) => `${b.address} ${b.ageSeconds === null ? "" : age(b.ageSeconds)}`.trim()).join(", ")}`);
  }
  return lines.join("\n");
}

function age(seconds: number): string {
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86_400)}d ago`;
}

/** The ban table of every applied forward that has a `limit`. */
export function banTables(state: State): string[] {
  return appliedPfNames(state).flatMap((names) => names.banTable ?? []);
}
