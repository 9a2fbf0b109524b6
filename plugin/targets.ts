// Command arguments → the lima.yaml files they name: an instance name (its lima.yaml under
// LIMA_HOME) or a path to a file.
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { SourceFile } from "../compiler/pipeline.js";
import type { Context } from "./context.js";
import { CliError, EXIT } from "./errors.js";

export interface Target extends SourceFile { kind: "file" | "instance" }

export function looksLikeFile(arg: string): boolean {
  return arg.includes("/") || /\.ya?ml$/i.test(arg) || (existsSync(arg) && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(arg));
}

/** The VM name for a plain file: the instance directory for .../NAME/lima.yaml, else the file's stem. */
export function vmNameForFile(file: string): string {
  const base = path.basename(file).replace(/\.ya?ml$/i, "");
  return base === "lima" ? path.basename(path.dirname(path.resolve(file))) : base;
}

export async function resolveTargets(ctx: Context, args: readonly string[], options: { name?: string } = {}): Promise<Target[]> {
  const names = args.length > 0 ? args : await instanceNames(ctx.environment.paths.limaHome);
  if (options.name && names.length !== 1) {
    throw new CliError(EXIT.USAGE, "--name applies to exactly one file");
  }
  const targets: Target[] = [];
  for (const arg of names) {
    const isFile = looksLikeFile(arg);
    const file = isFile ? arg : path.join(ctx.environment.paths.limaHome, arg, "lima.yaml");
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (isFile) throw new CliError(EXIT.FAILURE, `cannot read ${file}: ${code ?? String(error)}`);
      throw new CliError(EXIT.FAILURE, `no Lima instance named \`${arg}\` (no ${file})`, "See `limactl list`; LIMA_HOME is " + ctx.environment.paths.limaHome);
    }
    targets.push({ kind: isFile ? "file" : "instance", vm: options.name ?? (isFile ? vmNameForFile(file) : arg), file, text });
  }
  return targets;
}

/** Instance directories as Lima sees them: not starting with `_` or `.`, holding a lima.yaml. */
export async function instanceNames(limaHome: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(limaHome, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith("_") && !e.name.startsWith(".") && existsSync(path.join(limaHome, e.name, "lima.yaml")))
    .map((e) => e.name)
    .sort();
}
