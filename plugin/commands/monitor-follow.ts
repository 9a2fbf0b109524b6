// `monitor --follow`: redraw in place on a terminal, one JSON line per event when piped, each
// banned or forward-down event to --alert-cmd; until interrupted, or until limactl is gone.
import { printableJson, printableLines } from "../../compiler/printable.js";
import type { Context } from "../context.js";
import { monitorEvents, redrawFrame, type MonitorEvent, type MonitorSnapshot } from "../engine/monitor.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { runAlertCommand } from "../host/alert-command.js";
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

/** Run CMD with the event as JSON on stdin, as the user (host/alert-command.ts); its failure is said, not fatal. */
async function alert(ctx: Context, command: string, event: MonitorEvent): Promise<void> {
  const outcome = await runAlertCommand(command, `${JSON.stringify(event)}\n`, ctx.host.userIdentity());
  if ("error" in outcome) ctx.out.warn(`--alert-cmd could not be run: ${outcome.error}`);
  else if (outcome.code !== 0) ctx.out.warn(`--alert-cmd exited with ${outcome.code} for ${event.event} ${event.instance}/${event.forward}`);
}

