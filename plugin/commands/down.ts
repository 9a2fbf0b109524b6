// `down [INSTANCE…] [--all] [--dry-run]`: remove forwards; the other VMs' rules are reloaded
// unchanged in the same atomic anchor load. When the last forward goes, the anchor is
// emptied and LimaWAN's PF reference released. IP forwarding stays (DESIGN.md: other
// services rely on it; `uninstall` restores it).
import type { Context } from "../context.js";
import { converge } from "../engine/converge.js";
import { desiredState, UP_POLICY } from "../engine/desired-state.js";
import { describeResult } from "../engine/summary.js";
import { requireHostAccess } from "../environment.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";

export async function down(ctx: Context, args: string[], options: { all?: boolean }): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "down", { dryRun: ctx.dryRun });
  if (args.length === 0 && !options.all) {
    throw new CliError(EXIT.USAGE, "name the instances to bring down, or use --all", "e.g. sudo limactl limawan down web");
  }
  const result = await converge(
    ctx.host,
    ctx.out,
    (state) => {
      for (const name of args) if (!(name in state.vms)) ctx.out.info(`${name}: no forwards applied`);
      return desiredState(ctx.host, state, { read: "none", drop: options.all ? "all" : args }, UP_POLICY);
    },
    {
      keepInterfaces: true,
      // Held down, so the watcher does not bring them straight back; `up` releases them.
      heldDown: (before) => [...new Set([...before.heldDown, ...(options.all ? Object.keys(before.vms) : args)])].sort(),
    },
  );
  const summary = describeResult(result, ctx.dryRun);
  if (ctx.out.options.json) ctx.out.json(summary);
  else for (const line of summary.lines) ctx.out.info(line);
  return EXIT.OK;
}
