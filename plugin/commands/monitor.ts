// `monitor [--follow] [--interval S] [--alert-cmd CMD]`: the host-side security view — per
// forward, live states and top sources, packets and bytes, each ban and how old it is.
// `monitor unban INSTANCE FORWARD ADDRESS` lifts one ban; `monitor expire --older-than D` lifts
// those older than D. --follow redraws in place on a terminal and prints one JSON line per event
// (banned, unbanned, forward-down, forward-up) when piped; --alert-cmd runs CMD with each
// banned or forward-down event as JSON on its stdin (mail, a webhook: README).
import { forwardPfNames } from "../../compiler/pf-names.js";
import { printableJson, printableLines } from "../../compiler/printable.js";
import { parseIpv4Address } from "../../compiler/validate/addresses.js";
import type { Context } from "../context.js";
import { monitorEvents, monitorSnapshot, parseDuration, redrawFrame, type MonitorEvent, type MonitorSnapshot } from "../engine/monitor.js";
import { appliedPfNames, readState, type State } from "../engine/state.js";
import { requireHostAccess } from "../environment.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { runAlertCommand } from "../host/alert-command.js";
import { whenInvokerGone } from "../host/invoker.js";
import type { TableEntry } from "../host/pfctl.js";

export interface MonitorOptions { follow?: boolean; interval?: string; alertCmd?: string; olderThan?: string }

export async function monitor(ctx: Context, args: string[], options: MonitorOptions): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "monitor", { dryRun: ctx.dryRun });
  const [action, ...rest] = args;
  if (action === "unban") return unban(ctx, rest);
  if (action === "expire") return expire(ctx, options.olderThan);
  if (action !== undefined) throw new CliError(EXIT.USAGE, `monitor ${action}: give nothing, \`unban INSTANCE FORWARD ADDRESS\` or \`expire --older-than DURATION\``);
  if (!options.follow) {
    const snapshot = await snap(ctx);
    if (ctx.out.options.json) ctx.out.json(snapshot);
    else ctx.out.print(render(snapshot));
    return EXIT.OK;
  }
  return follow(ctx, options);
}

async function snap(ctx: Context): Promise<MonitorSnapshot> {
  const { pfctl } = ctx.host;
  const state = await readState(ctx.host);
  const [counters, pfStates] = await Promise.all([pfctl.counters(), pfctl.states()]);
  const bans = new Map<string, TableEntry[]>();
  await Promise.all(banTables(state).map(async (table) => bans.set(table, await pfctl.tableEntriesSince(table))));
  return monitorSnapshot({ state, counters, pfStates, bans, now: Date.now() });
}

async function follow(ctx: Context, options: MonitorOptions): Promise<ExitCode> {
  const seconds = options.interval === undefined ? 2 : Number(options.interval);
  if (!Number.isFinite(seconds) || seconds < 0.1 || seconds > 3600) throw new CliError(EXIT.USAGE, `--interval ${options.interval}: give seconds (0.1–3600)`);
  const terminal = Boolean((process.stdout as NodeJS.WriteStream).isTTY) && !ctx.out.options.json;
  let stopped = false;
  let wake: (() => void) | null = null;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // Run by `limactl limawan monitor --follow`: limactl passes no signal on, so its end is noticed here.
  const cancel = whenInvokerGone(ctx.environment.invokerPid, stop);
  let previous: MonitorSnapshot | null = null;
  while (!stopped) {
    const snapshot = await snap(ctx);
    const events = monitorEvents(previous, snapshot);
    if (terminal) {
      // Written whole, past Output (redrawFrame's own sequences redraw in place), so escaped here.
      process.stdout.write(redrawFrame(printableLines(render(snapshot))));
    } else {
      for (const event of events) process.stdout.write(`${printableJson(JSON.stringify(event))}\n`);
    }
    for (const event of events) if (options.alertCmd && (event.event === "banned" || event.event === "forward-down")) await alert(ctx, options.alertCmd, event);
    previous = snapshot;
    if (stopped) break;
    // The wait ends early when stopped: an --interval of an hour must not keep an orphan that long.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, seconds * 1000);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wake = null;
  }
  cancel();
  return EXIT.OK;
}

/** Run CMD with the event as JSON on stdin, as the user (host/alert-command.ts); its failure is said, not fatal. */
async function alert(ctx: Context, command: string, event: MonitorEvent): Promise<void> {
  const outcome = await runAlertCommand(command, `${JSON.stringify(event)}\n`, ctx.host.userIdentity());
  if ("error" in outcome) ctx.out.warn(`--alert-cmd could not be run: ${outcome.error}`);
  else if (outcome.code !== 0) ctx.out.warn(`--alert-cmd exited with ${outcome.code} for ${event.event} ${event.instance}/${event.forward}`);
}

async function unban(ctx: Context, args: string[]): Promise<ExitCode> {
  const [instance, forwardName, address] = args;
  if (!instance || !forwardName || !address || args.length !== 3) throw new CliError(EXIT.USAGE, "usage: limactl limawan monitor unban INSTANCE FORWARD ADDRESS");
  if (!parseIpv4Address(address)) throw new CliError(EXIT.USAGE, `${address} is not an IPv4 address`);
  const state = await readState(ctx.host);
  const vm = state.vms[instance];
  const forward = vm?.spec.forwards.find((f) => f.name === forwardName);
  if (!vm || !forward) throw new CliError(EXIT.FAILURE, `\`${instance}/${forwardName}\` is not forwarded`, "`limactl limawan status` lists the forwards.");
  const table = forwardPfNames(vm.spec, forward).banTable;
  if (!table) throw new CliError(EXIT.FAILURE, `\`${instance}/${forwardName}\` has no \`limit\`, so it bans no one`);
  const lifted = await ctx.host.pfctl.deleteFromTable(table, address);
  if (!lifted) throw new CliError(EXIT.FAILURE, `${address} is not banned from ${instance}/${forwardName}`);
  ctx.out.info(`${ctx.dryRun ? "would lift" : "lifted"} the ban on ${address} (${instance}/${forwardName})`);
  return EXIT.OK;
}

async function expire(ctx: Context, olderThan: string | undefined): Promise<ExitCode> {
  const seconds = olderThan === undefined ? null : parseDuration(olderThan);
  if (seconds === null) throw new CliError(EXIT.USAGE, "usage: limactl limawan monitor expire --older-than DURATION (e.g. 30m, 12h, 7d)");
  const state = await readState(ctx.host);
  let total = 0;
  for (const table of banTables(state)) total += await ctx.host.pfctl.expireTable(table, seconds);
  ctx.out.info(`${ctx.dryRun ? "would lift" : "lifted"} ${ctx.dryRun ? "the" : total} ban(s) older than ${olderThan}`);
  return EXIT.OK;
}

function render(snapshot: MonitorSnapshot): string {
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
function banTables(state: State): string[] {
  return appliedPfNames(state).flatMap((names) => names.banTable ?? []);
}
