// `monitor --follow`: redraw in place on a terminal, one JSON line per event when piped, each
// banned or forward-down event to --alert-cmd; until interrupted, or until limactl is gone.
import { spawn } from "node:child_process";
import { printableJson, printableLines } from "../../compiler/printable.js";
import type { Context } from "../context.js";
import { monitorEvents, redrawFrame, type MonitorEvent, type MonitorSnapshot } from "../engine/monitor.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { whenInvokerGone } from "../host/invoker.js";
import type { MonitorOptions } from "./monitor.js";
import { render, snap } from "./monitor-snapshot.js";

export async function follow(ctx: Context, options: MonitorOptions): Promise<ExitCode> {
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

/**
 * Run CMD through /bin/sh with the event as JSON on stdin; its failure is said, not fatal. Root
 * runs it as the user who ran `limactl limawan monitor` (sudo's SUDO_USER), with their home and
 * PATH: the command is theirs, and must not become a way to run anything as root.
 */
async function alert(ctx: Context, command: string, event: MonitorEvent): Promise<void> {
  const asUser = ctx.host.userIdentity() ?? {};
  await new Promise<void>((resolve) => {
    const child = spawn("/bin/sh", ["-c", command], { stdio: ["pipe", "ignore", "inherit"], ...asUser });
    child.once("error", (error) => {
      ctx.out.warn(`--alert-cmd could not be run: ${error.message}`);
      resolve();
    });
    child.once("close", (code) => {
      if (code !== 0) ctx.out.warn(`--alert-cmd exited with ${code} for ${event.event} ${event.instance}/${event.forward}`);
      resolve();
    });
    child.stdin!.on("error", () => undefined);
    child.stdin!.end(`${JSON.stringify(event)}\n`);
  });
}

