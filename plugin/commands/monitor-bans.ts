// `monitor unban INSTANCE FORWARD ADDRESS` and `monitor expire --older-than D`: lifting bans.
import { forwardPfNames } from "../../compiler/pf-names.js";
import { parseIpv4Address } from "../../compiler/validate/addresses.js";
import type { Context } from "../context.js";
import { parseDuration } from "../engine/monitor.js";
import { readState } from "../engine/state.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { banTables } from "./monitor-snapshot.js";

export async function unban(ctx: Context, args: string[]): Promise<ExitCode> {
  const [instance, forwardName, address] = args;
  if (!instance || !forwardName || !address || args.length !== 3) throw new CliError(EXIT.USAGE, "usage: limactl limawan monitor unban INSTANCE FORWARD ADDRESS");
  if (!parseIpv4Address(address)) throw new CliError(EXIT.USAGE, `${address} is not an IPv4 address`);
  const state = await readState(ctx.host);
  const vm = state.vms[instance];
  const forward = vm?.spec.forwards.find((f) => f.name === forwardName);
  if (!vm || !forward) throw new CliError(EXIT.FAILURE, `\`${instance}/${forwardName}\` is not forwarded`, "`limactl limawan status` lists the forwards.");
  const table = forwardPfNames(vm.spec, forward).banTable;
  if (!table) throw new CliError(EXIT.FAILURE, `\`${instance}/${forwardName}\` has no \`limit\`, so it bans no one`);
  const lifted = await ctx.host.pfctl.deleteFromTable(table, address);
  if (!lifted) throw new CliError(EXIT.FAILURE, `${address} is not banned from ${instance}/${forwardName}`);
  ctx.out.info(`${ctx.dryRun ? "would lift" : "lifted"} the ban on ${address} (${instance}/${forwardName})`);
  return EXIT.OK;
}

export async function expire(ctx: Context, olderThan: string | undefined): Promise<ExitCode> {
  const seconds = olderThan === undefined ? null : parseDuration(olderThan);
  if (seconds === null) throw new CliError(EXIT.USAGE, "usage: limactl limawan monitor expire --older-than DURATION (e.g. 30m, 12h, 7d)");
  const state = await readState(ctx.host);
  let total = 0;
  for (const table of banTables(state)) total += await ctx.host.pfctl.expireTable(table, seconds);
  ctx.out.info(`${ctx.dryRun ? "would lift" : "lifted"} ${ctx.dryRun ? "the" : total} ban(s) older than ${olderThan}`);
  return EXIT.OK;
}
