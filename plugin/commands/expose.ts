// `expose INSTANCE STATEMENT…` / `unexpose INSTANCE NAME`: edit the instance's lima.yaml
// annotation, keeping the rest of the file byte for byte, and refuse an edit that would not
// validate. Applying is `up`'s (or the watcher's) job.
import { hasErrors } from "../../compiler/diagnostic.js";
import { compileFile } from "../../compiler/pipeline.js";
import { didYouMean } from "../../compiler/suggest.js";
import { addStatement, normaliseStatement, removeForward, type EditResult } from "../annotation-edit.js";
import type { Context } from "../context.js";
import { readState } from "../engine/state.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { noSuchInstance } from "../host/lima.js";

export async function expose(ctx: Context, args: string[]): Promise<ExitCode> {
  const [instance, ...words] = args;
  if (!instance || words.length === 0) throw new CliError(EXIT.USAGE, "usage: limactl limawan expose INSTANCE 'NAME GUEST as HOST [options]'");
  // `expose web http 80 as 8080` (words) and `expose web 'http 80 as 8080' 'dns 53/udp as 5353'` (statements).
  const statements = words.every((w) => !/\s/.test(w)) ? [words.join(" ")] : words;
  return edit(ctx, instance, (text) => {
    let current = text;
    for (const input of statements) {
      const statement = normaliseStatement(input);
      if (!statement.ok) return statement;
      const next = addStatement(current, statement.text);
      if (!next.ok) return next;
      current = next.text;
    }
    return { ok: true, text: current };
  });
}

export async function unexpose(ctx: Context, args: string[]): Promise<ExitCode> {
  const [instance, name] = args;
  if (!instance || !name) throw new CliError(EXIT.USAGE, "usage: limactl limawan unexpose INSTANCE NAME");
  return edit(ctx, instance, (text, file) => {
    const result = removeForward(text, file, name);
    if (!result.ok && result.names) return { ok: false, reason: `${result.reason}. ${result.names.length ? didYouMean(name, result.names) : "The annotation has no forwards."}` };
    return result;
  });
}

async function edit(ctx: Context, instance: string, change: (text: string, file: string) => EditResult): Promise<ExitCode> {
  const { host } = ctx;
  const file = host.lima.configFile(instance);
  let text: string;
  try {
    text = await host.lima.readConfig(instance);
  } catch (error) {
    if (error instanceof CliError) throw error; // there, but not to be read (host/files.ts)
    throw noSuchInstance(instance, ` (there is no ${file})`);
  }
  const result = change(text, file);
  if (!result.ok) throw new CliError(EXIT.FAILURE, `cannot edit ${file}: ${result.reason}`);

  // Check the edited file as `up` would, against the VMs whose ports are already taken.
  const state = await readState(host).catch(() => null);
  const others = Object.values(state?.vms ?? {}).filter((vm) => vm.instance !== instance).map((vm) => vm.spec);
  const compiled = compileFile({ vm: instance, file, text: result.text }, others);
  ctx.out.diagnostics(compiled.diagnostics, new Map([[file, result.text]]));
  if (hasErrors(compiled.diagnostics)) throw new CliError(EXIT.FAILURE, `${file} was not changed`, "Fix the statement and try again.");

  // Whoever asked for the edit: the user, or the user behind sudo (--sudo), with their own rights.
  await host.files.rewrite(file, result.text, ctx.environment.invokingUser);
  if (!ctx.dryRun) ctx.out.info(`updated ${file}; apply with: limactl limawan up ${instance}  (the watch daemon applies it by itself)`);
  return EXIT.OK;
}
