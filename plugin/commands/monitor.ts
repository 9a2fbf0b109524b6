// `monitor [--follow] [--interval S] [--alert-cmd CMD]`: the host-side security view — per
// forward, live states and top sources, packets and bytes, each ban and how old it is.
// `monitor unban INSTANCE FORWARD ADDRESS` lifts one ban; `monitor expire --older-than D` lifts
// those older than D. --follow redraws in place on a terminal and prints one JSON line per event
// (banned, unbanned, forward-down, forward-up) when piped; --alert-cmd runs CMD with each
// banned or forward-down event as JSON on its stdin (mail, a webhook: README).
import type { Context } from "../context.js";
import { requireHostAccess } from "../environment.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { expire, unban } from "./monitor-bans.js";
import { follow } from "./monitor-follow.js";
import { render, snap } from "./monitor-snapshot.js";

export interface MonitorOptions { follow?: boolean; interval?: string; alertCmd?: string; olderThan?: string }

export async function monitor(ctx: Context, args: string[], options: MonitorOptions): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "monitor", { dryRun: ctx.dryRun });
  const [action, ...rest] = args;
  if (action === "unban") return unban(ctx, rest);
  if (action === "expire") return expire(ctx, options.olderThan);
  if (action !== undefined) throw new CliError(EXIT.USAGE, `monitor ${action}: give nothing, \`unban INSTANCE FORWARD ADDRESS\` or \`expire --older-than DURATION\``);
  if (!options.follow) {
    const snapshot = await snap(ctx);
    if (ctx.out.options.json) ctx.out.json(snapshot);
    else ctx.out.print(render(snapshot));
    return EXIT.OK;
  }
  return follow(ctx, options);
}
