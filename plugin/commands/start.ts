// `start INSTANCE`: `limactl start` (as the invoking user: Lima refuses root), then `up` —
// for Macs without the watch daemon.
import type { Context } from "../context.js";
import { requireHostAccess } from "../environment.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { up } from "./up.js";

/** Lima's own default start timeout is 10 minutes. */
const START_TIMEOUT_MS = 11 * 60_000;

export async function start(ctx: Context, args: string[], options: { wait?: string }): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "start", { dryRun: ctx.dryRun });
  const name = args[0]!;
  const [instance] = await ctx.lima.list([name]);
  if (instance?.status !== "Running") {
    ctx.out.info(`starting ${name} with limactl…`);
    const result = await ctx.runner.change("limactl", ["start", name], { asUser: true, timeoutMs: START_TIMEOUT_MS });
    if (result.exitCode !== 0) {
      throw new CliError(EXIT.FAILURE, `limactl start ${name} failed`, "See the output above and `limactl list`.", result.stderr.trim().split("\n").slice(-10).join("\n"));
    }
  } else {
    ctx.out.info(`${name} is already running`);
  }
  if (ctx.dryRun) {
    ctx.out.print(`would run: limactl-limawan up ${name} --wait ${options.wait ?? "60"}`);
    return EXIT.OK;
  }
  return up(ctx, [name], { wait: options.wait ?? "60" });
}
