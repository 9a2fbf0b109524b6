// `up [INSTANCE…] [--all] [--wait SECONDS] [--dry-run]`: apply the rules of running
// instances. Everything is validated first; the anchor is loaded once, whole.
import { hasErrors } from "../../compiler/diagnostic.js";
import type { Context } from "../context.js";
import { converge, type ConvergeResult } from "../converge.js";
import { compileCandidates, keptVms, placeVm, readCandidate, refuseBusyPorts, isRunning } from "../desired.js";
import { printDiagnostics } from "../diagnostics-output.js";
import { requireHostAccess } from "../environment.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import type { AppliedVm } from "../state.js";
import { vmAddress } from "../vm-address.js";
import { describeResult } from "./summary.js";

export interface UpOptions { all?: boolean; wait?: string; dryRun?: boolean; interface?: string }

export async function up(ctx: Context, args: string[], options: UpOptions): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "up", { dryRun: ctx.dryRun });
  if (args.length === 0 && !options.all) {
    throw new CliError(EXIT.USAGE, "name the instances to bring up, or use --all", "e.g. sudo limactl limawan up web");
  }
  let wait = parseWait(options.wait);
  if (wait > 0 && !options.all) {
    // Wait for the addresses before taking the state lock, so a long --wait does not hold up
    // the watcher and other commands; inside the lock they are looked up again, without waiting.
    await Promise.all(args.map((name) => vmAddress(ctx, name, wait)));
    wait = 0;
  }
  const result = await converge(
    ctx,
    async (state) => {
      const instances = new Map((await ctx.lima.list()).map((i) => [i.name, i]));
      for (const name of args) {
        if (!instances.has(name)) throw new CliError(EXIT.FAILURE, `no Lima instance named \`${name}\``, "See `limactl list`.");
      }
      const names = options.all ? [...instances.values()].filter((i) => isRunning(i)).map((i) => i.name) : args;
      if (!options.all && wait === 0) {
        for (const name of names) {
          const status = instances.get(name)!.status;
          if (status !== "Running") {
            throw new CliError(EXIT.FAILURE, `instance \`${name}\` is ${status.toLowerCase() || "not running"}`, `Start it first (limactl start ${name}), or use --wait SECONDS.`);
          }
        }
      }
      const kept = keptVms(state.vms, instances, new Set(names), (m) => ctx.out.info(m));
      const candidates = await Promise.all(names.map((name) => readCandidate(ctx, name)));
      const compiled = compileCandidates(candidates, kept.map((vm) => vm.spec));
      const diagnostics = compiled.flatMap((c) => c.diagnostics);
      printDiagnostics(ctx.out, compiled, diagnostics);
      if (hasErrors(diagnostics)) {
        throw new CliError(EXIT.FAILURE, "the annotations have errors; nothing was applied", "Fix them (`limactl limawan check`) and run up again.");
      }
      const placed: AppliedVm[] = [];
      for (const vm of compiled) {
        if (!vm.annotated) ctx.out.info(`${vm.instance}: no x-limawan annotation, nothing to expose`);
        else if (vm.spec) placed.push(await placeVm(ctx, { ...vm, spec: vm.spec }, wait));
      }
      await refuseBusyPorts(placed, state.vms);
      return [...kept, ...placed];
    },
    { interface: options.interface, heldDown: (before) => (options.all ? [] : before.heldDown.filter((name) => !args.includes(name))) },
  );
  report(ctx, result);
  return EXIT.OK;
}

export function parseWait(text: string | undefined): number {
  if (text === undefined) return 0;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3600) throw new CliError(EXIT.USAGE, `--wait ${text}: give a number of seconds (0–3600)`);
  return seconds;
}

function report(ctx: Context, result: ConvergeResult): void {
  if (ctx.out.options.json) {
    ctx.out.json(describeResult(result, ctx.dryRun));
    return;
  }
  for (const line of describeResult(result, ctx.dryRun).lines) ctx.out.info(line);
}
