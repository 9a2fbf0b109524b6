// `down [INSTANCE…] [--all] [--dry-run]`: remove forwards; the other VMs' rules are reloaded
// unchanged in the same atomic anchor load. When the last forward goes, the anchor is
// emptied and LimaWAN's PF reference released. IP forwarding stays (DESIGN.md: other
// services rely on it; `uninstall` restores it). The instances named stay held down.
import type { Context } from "../context.js";
import { converge } from "../engine/converge.js";
import { desiredWithout } from "../engine/desired-state.js";
import { followRouter } from "../engine/router-apply.js";
import { printResult } from "../engine/summary.js";
import { requireHostAccess } from "../environment.js";
import { readState } from "../engine/state.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { noSuchInstance } from "../host/lima.js";

export async function down(ctx: Context, args: string[], options: { all?: boolean }): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "down", { dryRun: ctx.dryRun });
  if (args.length === 0 && !options.all) {
    throw new CliError(EXIT.USAGE, "name the instances to bring down, or use --all", "e.g. limactl limawan down web");
  }
  if (!options.all) await refuseUnknown(ctx, args);
  const result = await converge(ctx.host, ctx.out, {
    desired: async (_host, state) => desiredWithout(state, options.all ? "all" : args),
    keepInterfaces: true,
    onDesired: (desired) => desired.notes.forEach((note) => ctx.out.info(note)),
  });
  printResult(ctx.out, result, ctx.dryRun);
  // The router's mappings of the forwards taken down are deleted (lifetime 0, DeletePortMapping).
  await followRouter(ctx.host, result.after, { retryNow: false, tell: { event: (l) => ctx.out.info(l), warning: (l) => ctx.out.warn(l) } });
  return EXIT.OK;
}

/**
 * A name that is neither applied nor listed by Lima is a mistake, an error as for `up`. An
 * applied VM Lima no longer lists (deleted) is taken down; when Lima cannot be asked, the names
 * are taken as given (down must work whatever Lima's state).
 */
async function refuseUnknown(ctx: Context, names: readonly string[]): Promise<void> {
  const state = await readState(ctx.host).catch(() => null);
  const unknown = names.filter((name) => !(state && name in state.vms));
  if (unknown.length === 0) return;
  const listing = await ctx.host.lima.list().catch(() => null);
  const missing = listing && unknown.find((name) => !listing.some((i) => i.name === name));
  if (missing) throw noSuchInstance(missing);
}
