// `expose INSTANCE STATEMENT…` / `unexpose INSTANCE NAME`: edit the instance's lima.yaml
// annotation, keeping the rest of the file byte for byte, and refuse an edit that would not
// validate. Applying is `up`'s (or the watcher's) job.
import { stat } from "node:fs/promises";
import writeFileAtomic from "write-file-atomic";
import { hasErrors } from "../../compiler/diagnostic.js";
import { compileFile } from "../../compiler/pipeline.js";
import { didYouMean } from "../../compiler/suggest.js";
import { addStatement, normaliseStatement, removeForward, type EditResult } from "../annotation-edit.js";
import type { Context } from "../context.js";
import { printDiagnostics } from "../diagnostics-output.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { StateStore } from "../state.js";

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
  const file = ctx.lima.configFile(instance);
  let text: string;
  try {
    text = await ctx.lima.readConfig(instance);
  } catch {
    throw new CliError(EXIT.FAILURE, `no Lima instance named \`${instance}\` (no ${file})`, "See `limactl list`.");
  }
  const result = change(text, file);
  if (!result.ok) throw new CliError(EXIT.FAILURE, `cannot edit ${file}: ${result.reason}`);

  // Check the edited file as `up` would, against the VMs whose ports are already taken.
  const state = await new StateStore(ctx.environment.paths.stateDir, ctx.runner).read().catch(() => null);
  const others = Object.values(state?.vms ?? {}).filter((vm) => vm.instance !== instance).map((vm) => vm.spec);
  const compiled = compileFile({ vm: instance, file, text: result.text }, others);
  printDiagnostics(ctx.out, [{ file, text: result.text }], compiled.diagnostics);
  if (hasErrors(compiled.diagnostics)) throw new CliError(EXIT.FAILURE, `${file} was not changed`, "Fix the statement and try again.");

  if (ctx.dryRun) {
    ctx.runner.noteWrite(file, result.text);
    return EXIT.OK;
  }
  const info = await stat(file);
  // Keep the owner: under sudo the file must stay the user's, not become root's.
  await writeFileAtomic(file, result.text, { mode: info.mode & 0o777, chown: { uid: info.uid, gid: info.gid } });
  ctx.out.info(`updated ${file}; apply with: sudo limactl limawan up ${instance}  (the watch daemon applies it by itself)`);
  return EXIT.OK;
}
