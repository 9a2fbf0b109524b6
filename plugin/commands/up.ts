// `up [INSTANCE…] [--all] [--wait SECONDS] [--dry-run]`: apply the rules of running
// instances. Everything is validated first; the anchor is loaded once, whole.
import type { Ipv4Address } from "../../compiler/ir.js";
import type { Context } from "../context.js";
import { converge } from "../engine/converge.js";
import { desiredState, sourcesOf, UP_POLICY, type Selection } from "../engine/desired-state.js";
import { describeResult } from "../engine/summary.js";
import { vmAddress } from "../engine/vm-address.js";
import { requireHostAccess } from "../environment.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { parseInterfaceOption, parseWait } from "../options.js";

export interface UpOptions { all?: boolean; wait?: string; dryRun?: boolean; interface?: string }

export async function up(ctx: Context, args: string[], options: UpOptions): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "up", { dryRun: ctx.dryRun });
  if (args.length === 0 && !options.all) {
    throw new CliError(EXIT.USAGE, "name the instances to bring up, or use --all", "e.g. sudo limactl limawan up web");
  }
  const wait = parseWait(options.wait);
  const interfaces = parseInterfaceOption(options.interface);
  // Wait for the addresses before taking the state lock, so a long --wait does not hold up
  // the watcher and other commands; what was found is used as it is inside the lock.
  const knownAddresses = new Map<string, Ipv4Address>();
  if (wait > 0 && !options.all) {
    for (const located of await Promise.all(args.map((name) => vmAddress(ctx.host, ctx.out, name, wait)))) {
      knownAddresses.set(located.instance.name, located.address);
    }
  }
  const selection: Selection = options.all ? { read: "running" } : { read: "named", names: args };
  const result = await converge(ctx.host, ctx.out, (state) => desiredState(ctx.host, state, selection, { ...UP_POLICY, knownAddresses }), {
    ...(interfaces ? { interfaces } : {}),
    heldDown: (before) => (options.all ? [] : before.heldDown.filter((name) => !args.includes(name))),
  });
  const { desired } = result;
  ctx.out.diagnostics(desired.read.flatMap((r) => r.result.diagnostics), sourcesOf(desired));
  for (const note of desired.notes) ctx.out.info(note);
  const summary = describeResult(result, ctx.dryRun);
  if (ctx.out.options.json) ctx.out.json(summary);
  else for (const line of summary.lines) ctx.out.info(line);
  return EXIT.OK;
}
