// `watch`: the foreground reconciler (what the launchd daemon runs). Applies rules when a
// VM starts or its address changes, removes them when it stops; exits cleanly on
// SIGTERM/SIGINT, or when the process that started it is gone, leaving the rules of running
// VMs in place.
import type { Context } from "../context.js";
import { DEFAULT_WATCH_OPTIONS, Watcher } from "../engine/watcher.js";
import { requireHostAccess } from "../environment.js";
import { EXIT, type ExitCode } from "../errors.js";
import { whenInvokerGone } from "../host/invoker.js";

export interface WatchCommandOptions { onPublicAddress?: string }

export async function watch(ctx: Context, _args: string[] = [], options: WatchCommandOptions = {}): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "watch", { dryRun: false });
  // The flag, else the setting the launchd daemon carries (install --on-public-address).
  const onPublicAddress = options.onPublicAddress || ctx.environment.env.LIMAWAN_ON_PUBLIC_ADDRESS || null;
  const watcher = new Watcher(ctx, { ...DEFAULT_WATCH_OPTIONS, intervalMs: ctx.environment.watchIntervalMs, onPublicAddress });
  await watcher.start();
  await new Promise<void>((resolve) => {
    let stopping = false;
    // `on`, not `once`: a second signal while stopping must not kill us by default action.
    const stop = (reason: string) => {
      if (stopping) return;
      stopping = true;
      ctx.out.info(`${new Date().toISOString()} ${reason}: stopping; rules of running VMs stay in place`);
      cancel();
      watcher.stop();
      resolve();
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    // Run by `limactl limawan watch`: limactl passes no signal on, so its end is noticed here.
    const cancel = whenInvokerGone(ctx.environment.invokerPid, () => stop("the process that started it is gone"));
  });
  return EXIT.OK;
}
