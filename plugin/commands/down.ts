// `down [INSTANCE…] [--all] [--dry-run]`: remove forwards; the other VMs' rules are reloaded
// unchanged in the same atomic anchor load. When the last forward goes, the anchor is
// emptied and LimaWAN's PF reference released. IP forwarding stays (DESIGN.md: other
// services rely on it; `uninstall` restores it). The instances named stay held down.
import type { Context } from "../context.js";
import { converge } from "../engine/converge.js";
import { printResult } from "../engine/summary.js";
import { requireHostAccess } from "../environment.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";

export async function down(ctx: Context, args: string[], options: { all?: boolean }): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "down", { dryRun: ctx.dryRun });
  if (args.length === 0 && !options.all) {
    throw new CliError(EXIT.USAGE, "name the instances to bring down, or use --all", "e.g. limactl limawan down web");
  }
  const result = await converge(ctx.host, ctx.out, {
    selection: { read: "none", drop: options.all ? "all" : args },
    keepInterfaces: true,
    onDesired: (desired) => desired.notes.forEach((note) => ctx.out.info(note)),
  });
  printResult(ctx.out, result, ctx.dryRun);
  return EXIT.OK;
}
