// `start INSTANCE`: `limactl start` (as the invoking user: Lima refuses root), then `up` —
// for Macs without the watch daemon.
import type { Context } from "../context.js";
import { requireHostAccess } from "../environment.js";
import { EXIT, type ExitCode } from "../errors.js";
import { up } from "./up.js";

export async function start(ctx: Context, args: string[], options: { wait?: string }): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "start", { dryRun: ctx.dryRun });
  const name = args[0]!;
  const [instance] = await ctx.host.lima.list([name]);
  if (instance?.status !== "Running") {
    ctx.out.info(`starting ${name} with limactl…`);
    await ctx.host.lima.start(name);
  } else {
    ctx.out.info(`${name} is already running`);
  }
  if (ctx.dryRun) {
    ctx.out.print(`would run: limactl-limawan up ${name} --wait ${options.wait ?? "60"}`);
    return EXIT.OK;
  }
  return up(ctx, [name], { wait: options.wait ?? "60" });
}
