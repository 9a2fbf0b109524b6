// `status [INSTANCE…] [--json]`: per instance, its forwards and whether they are applied,
// pending, stale or conflicting, with PF's counters; plus PF, anchor points, forwarding.
// Reads what it can without root and says what it could not.
import type { Context } from "../context.js";
import { pfConfHoldsPoints } from "../engine/anchor-points.js";
import { readForStatus } from "../engine/desired-state.js";
import { loadedRules } from "../engine/loaded-rules.js";
import { emptyState } from "../engine/state.js";
import { inspectState } from "../engine/state-recovery.js";
import { statusReport, type InstanceStatus, type StatusReport, type Unreadable } from "../engine/status-report.js";
import { EXIT, failedForWantOfRoot, type ExitCode } from "../errors.js";
import { printable } from "../../compiler/printable.js";
import { limaCannotRead, limaCannotReadHint, NoSuchInstance } from "../host/lima.js";
import { IP_FORWARDING } from "../host/sysctl.js";

export interface StatusOptions { stats?: boolean; rules?: boolean }

export async function status(ctx: Context, args: string[], options: StatusOptions = {}): Promise<ExitCode> {
  const { host } = ctx;
  if (options.rules) return rules(ctx);
  const unreadable: Unreadable[] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof NoSuchInstance) throw error; // a name Lima does not know: an error, as for `up`
      unreadable.push({ what, message: error instanceof Error ? error.message : String(error), needsRoot: failedForWantOfRoot(error, ctx.environment.isRoot) });
      return null;
    }
  };

  // Independent reads, side by side: each is a process start.
  // A damaged state file is shown rebuilt from PF (as the next up or down will rebuild it), and said to be damaged.
  const inspected = attempt("state", () => inspectState(host));
  const stateRead = inspected.then((i) => i?.state ?? null);
  const [stateFile, state, desired, labels, anchorPoints, enabled, references, forwarding, daemon, pfConfPoints] = await Promise.all([
    inspected.then(async (i) => (i ? { damaged: i.damaged, movedAside: (await attempt("damaged state files", () => host.state.damagedCopies())) ?? [] } : null)),
    stateRead,
    stateRead.then((state) => attempt("Lima instances", () => readForStatus(host, state ?? emptyState(), args.length > 0 ? args : undefined))),
    attempt("PF counters", () => host.pfctl.counters()),
    attempt("PF anchor points", () => host.pfctl.loadedAnchorPoints()),
    attempt("PF status", () => host.pfctl.enabled()),
    // Whose references PF holds matters only when we hold one.
    stateRead.then((state) => (state?.pfToken ? attempt("PF references", () => host.pfctl.references()) : null)),
    attempt("IP forwarding", () => host.sysctl.get(IP_FORWARDING)),
    attempt("launchd daemon", () => host.launchd.status()),
    pfConfHoldsPoints(host),
  ]);
  // Lima lists an instance it cannot read with no status: say why, in Lima's words.
  const limaErrors = new Map<string, string>();
  for (const read of desired?.read ?? []) if (limaCannotRead(read.instance)) limaErrors.set(read.instance.name, await host.lima.cannotReadReason(read.instance));
  const report = statusReport({ names: args, state, stateFile, desired, labels, anchorPoints, enabled, references, forwarding, daemon, unreadable, pfConfPoints, limaErrors, now: Date.now() });
  if (ctx.out.options.json) ctx.out.json(report);
  else if (options.stats) printStats(ctx, report);
  else printStatus(ctx, report);
  return EXIT.OK;
}

/** `--rules`: the loaded anchor, each rule with the lima.yaml line it came from. */
async function rules(ctx: Context): Promise<ExitCode> {
  const { state, damaged } = await inspectState(ctx.host);
  if (damaged) ctx.out.warn(`${ctx.host.state.file} is damaged (${damaged}); the rules below are rendered from the state rebuilt from PF's rules`);
  const loaded = loadedRules(state);
  if (ctx.out.options.json) {
    ctx.out.json(loaded);
    return EXIT.OK;
  }
  if (!loaded.matchesRecord) ctx.out.warn("LimaWAN's record no longer matches the anchor it loaded; `limactl limawan up --all` loads it again");
  if (loaded.rules.length === 0) {
    ctx.out.info("no LimaWAN rules are loaded");
    return EXIT.OK;
  }
  const where = (r: (typeof loaded.rules)[number]) => (r.origin === null ? "" : r.origin.file ? `${r.origin.file}:${r.origin.line}` : `VM ${r.origin.vm}`);
  const width = Math.max(...loaded.rules.map((r) => where(r).length));
  ctx.out.print(loaded.rules.map((r) => (r.origin === null ? ctx.out.c.dim(r.rule) : `${ctx.out.c.dim(where(r).padEnd(width))}  ${r.rule}`)).join("\n"));
  return EXIT.OK;
}

/** `--stats`: every counter PF keeps per applied forward. */
function printStats(ctx: Context, report: StatusReport): void {
  const rows = [["INSTANCE", "FORWARD", "STATE", "EVALUATIONS", "PACKETS", "BYTES", "STATES"]];
  const n = (v: number | null) => (v === null ? "-" : String(v));
  for (const instance of report.instances) {
    for (const f of instance.forwards) rows.push([instance.instance, f.name, f.state, n(f.evaluations), n(f.packets), n(f.bytes), n(f.states)]);
  }
  if (rows.length === 1) {
    ctx.out.info("no forwards");
    return;
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  ctx.out.print(rows.map((r) => r.map((cell, i) => (i >= 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n"));
}

function printStatus(ctx: Context, report: StatusReport): void {
  const { host, instances, strayLabels } = report;
  const c = ctx.out.c;
  const yesNo = (v: boolean, yes: string, no: string) => (v ? c.green(yes) : c.yellow(no));
  const lines: string[] = [];
  if (host.pf) {
    lines.push(
      `PF: ${yesNo(host.pf.enabled, "enabled", "disabled")}` +
        `${host.pf.referenceHeld ? " (LimaWAN holds a reference)" : ""}` +
        ` · anchor points: ${yesNo(host.pf.anchorPoints.rdr && host.pf.anchorPoints.filter, "present", `missing: ${host.pf.missingPoints}`)}` +
        ` · IP forwarding: ${host.forwarding === null ? "unknown" : yesNo(host.forwarding === "1", "on", "off")}`,
    );
  } else {
    const pf = host.unreadable.find((u) => u.what.startsWith("PF"));
    lines.push(`PF: ${c.yellow("unknown")} (${pf?.needsRoot ? "reading PF needs root: limactl limawan status --sudo" : (pf?.message ?? "")})`);
  }
  if (host.stateFile?.damaged) {
    lines.push(`state: ${c.red("damaged")} (${host.stateFile.damaged}); shown as rebuilt from PF's rules — \`limactl limawan up --all\` (or \`down\`) moves it aside and rebuilds it`);
  }
  if (host.stateFile && host.stateFile.movedAside.length > 0) {
    lines.push(`state: ${c.yellow("rebuilt from PF")} after it was damaged; the damaged file is kept as ${host.stateFile.movedAside.join(", ")} (remove it once read)`);
  }
  if (host.daemon) lines.push(`watch daemon: ${host.daemon.loaded ? c.green("loaded") : host.daemon.installed ? c.yellow("installed, not loaded") : "not installed"}`);
  for (const u of host.unreadable) ctx.out.verbose(`could not read ${u.what}: ${u.message}`);

  for (const row of instances) {
    lines.push("");
    lines.push(`${c.bold(printable(row.instance))}  ${row.limaError !== null ? c.red("Lima cannot read its lima.yaml") : row.status}${row.address ? `  ${row.address}` : ""}`);
    if (row.limaError !== null) {
      const file = ctx.host.lima.configFile(row.instance);
      lines.push(`  ${printable(row.limaError)}`, `  ${c.dim(limaCannotReadHint(file))}`);
    }
    if (row.notForwarded) lines.push(`  ${c.red("not forwarded")}: ${printable(row.notForwarded)}`);
    if (row.heldDown) lines.push(`  ${c.yellow("held down")} by \`limactl limawan down\`: the watch daemon leaves it alone; \`limactl limawan up ${row.instance}\` forwards it again`);
    if (!row.annotated) {
      lines.push("  no x-limawan annotation");
      continue;
    }
    if (!row.valid) lines.push(`  ${c.red("annotation has errors")}: limactl limawan check ${row.instance}`);
    if (row.forwards.length > 0) lines.push(...forwardTable(row).map((l) => `  ${l}`));
  }
  if (strayLabels.length > 0) lines.push("", c.yellow(`rules in the limawan anchor that no VM owns: ${strayLabels.join(", ")} (limactl limawan up --all replaces them)`));
  lines.push("", c.dim("Forwards serve clients arriving on the WAN interface; from this Mac, connect to the VM's address directly (PF cannot redirect the Mac's own connections)."));
  ctx.out.print(lines.join("\n"));
}

function forwardTable(row: InstanceStatus): string[] {
  const rows = [["NAME", "PROTO", "HOST PORT", "TARGET", "STATE", "PACKETS", "STATES"]];
  for (const f of row.forwards) {
    rows.push([
      f.name,
      f.protocol,
      f.host ? `${f.interfaces.join(",") || "?"}:${f.host}` : "",
      f.target,
      f.state + (f.reason ? ` (${f.reason})` : ""),
      f.packets === null ? "-" : String(f.packets),
      f.states === null ? "-" : String(f.states),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
}
