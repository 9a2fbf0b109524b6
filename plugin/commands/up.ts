// `up [INSTANCE…] [--all] [--wait SECONDS] [--dry-run]`: apply the rules of running
// instances. Everything is validated first; the anchor is loaded once, whole.
import type { Context } from "../context.js";
import { converge } from "../engine/converge.js";
import { desiredForRunning, desiredForUp, sourcesOf, UP_POLICY } from "../engine/desired-state.js";
import { followRouter } from "../engine/router-apply.js";
import { printResult } from "../engine/summary.js";
import { awaitAddresses } from "../engine/vm-address.js";
import { requireHostAccess } from "../environment.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { parseInterfaceOption, parseWait } from "../options.js";

export interface UpOptions { all?: boolean; wait?: string; dryRun?: boolean; interface?: string }

export async function up(ctx: Context, args: string[], options: UpOptions): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "up", { dryRun: ctx.dryRun });
  if (args.length === 0 && !options.all) {
    throw new CliError(EXIT.USAGE, "name the instances to bring up, or use --all", "e.g. limactl limawan up web");
  }
  const wait = parseWait(options.wait);
  const interfaces = parseInterfaceOption(options.interface);
  // Waiting happens before the state lock is taken, so a long --wait holds up nobody.
  const knownAddresses = options.all ? undefined : await awaitAddresses(ctx.host, ctx.out, args, wait);
  const result = await converge(ctx.host, ctx.out, {
    desired: (host, state) => (options.all ? desiredForRunning(host, state, UP_POLICY) : desiredForUp(host, state, args, { knownAddresses })),
    interfaces,
    onDesired: (desired) => {
      ctx.out.diagnostics(desired.read.flatMap((r) => r.result.diagnostics), sourcesOf(desired));
      for (const note of desired.notes) ctx.out.info(note);
    },
  });
  printResult(ctx.out, result, ctx.dryRun, result.desired.skipped);
  // PF is live: now the router, for forwards marked `router` (its refusals are reported, never fatal).
  await followRouter(ctx.host, result.after, { retryNow: true, tell: { event: (l) => ctx.out.info(l), warning: (l) => ctx.out.warn(l) } });
  // A broken annotation costs its own VM only: the others are applied, and the exit says so.
  for (const s of result.desired.skipped) ctx.out.error(`${s.instance}: ${s.reason}`, s.diagnostics.length > 0 ? `limactl limawan check ${s.instance}` : undefined);
  return result.desired.skipped.length > 0 ? EXIT.FAILURE : EXIT.OK;
}
