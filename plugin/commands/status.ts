// `status [INSTANCE…] [--json]`: per instance, its forwards and whether they are applied,
// pending, stale or conflicting, with PF's counters; plus PF, anchor points, forwarding.
// Reads what it can without root and says what it could not.
import type { Context } from "../context.js";
import { pfConfHoldsPoints } from "../engine/anchor-points.js";
import { readForStatus } from "../engine/desired-state.js";
import { emptyState } from "../engine/state.js";
import { inspectState } from "../engine/state-recovery.js";
import { finding, type Finding } from "../engine/finding.js";
import { statusWithRouter } from "../engine/router-report.js";
import { statusReport } from "../engine/status-report.js";
import { EXIT, isReason, type ExitCode } from "../errors.js";
import { unread } from "../engine/reading.js";
import { limaCannotRead } from "../host/lima.js";
import { IP_FORWARDING } from "../host/sysctl.js";
import { rules } from "./status-rules.js";
import { printStats, printStatus } from "./status-text.js";

export interface StatusOptions { stats?: boolean; rules?: boolean }

export async function status(ctx: Context, args: string[], options: StatusOptions = {}): Promise<ExitCode> {
  const { host } = ctx;
  if (options.rules) return rules(ctx);
  const unreadable: Finding[] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (error) {
      if (isReason(error, "no-such-instance")) throw error; // a name Lima does not know: an error, as for `up`
      const { reason, code } = unread(error, ctx.environment.isRoot);
      unreadable.push(finding("unreadable", "unknown", what, reason, code === "needs-root" ? "limactl limawan status --sudo" : undefined, code));
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
  const router = state?.router ?? null;
  if (ctx.out.options.json) ctx.out.json(statusWithRouter(report, router));
  else if (options.stats) printStats(ctx, report);
  else printStatus(ctx, report, router);
  return EXIT.OK;
}
