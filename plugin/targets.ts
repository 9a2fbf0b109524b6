// Command arguments → the lima.yaml files they name: an instance name (its lima.yaml under
// LIMA_HOME) or a path to a file. For `plan` and `check`, which read files, not VMs.
import { existsSync } from "node:fs";
import path from "node:path";
import type { SourceFile } from "../compiler/pipeline.js";
import { CliError, EXIT } from "./errors.js";
import type { Host } from "./host/index.js";
import { noSuchInstance } from "./host/lima.js";
import { parseVmName } from "./options.js";

export interface Target extends SourceFile { kind: "file" | "instance" }

export function looksLikeFile(arg: string): boolean {
  return arg.includes("/") || /\.ya?ml$/i.test(arg) || (existsSync(arg) && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(arg));
}

/** The VM name for a plain file: the instance directory for .../NAME/lima.yaml, else the file's stem. */
export function vmNameForFile(file: string): string {
  const base = path.basename(file).replace(/\.ya?ml$/i, "");
  return base === "lima" ? path.basename(path.dirname(path.resolve(file))) : base;
}

export async function resolveTargets(host: Host, args: readonly string[], options: { name?: string } = {}): Promise<Target[]> {
  const name = parseVmName(options.name);
  // --name names the VM of a plain file; an instance is always its own VM, never renamed.
  if (name !== undefined && (args.length !== 1 || !looksLikeFile(args[0]!))) {
    throw new CliError(EXIT.USAGE, "--name applies to exactly one lima.yaml file, not to an instance", "An instance's VM is named after it; give a file's path to name its VM.");
  }
  const names = args.length > 0 ? args : await host.lima.instanceNames();
  const targets: Target[] = [];
  for (const arg of names) {
    const isFile = looksLikeFile(arg);
    const file = isFile ? arg : host.lima.configFile(arg);
    let text: string;
    try {
      text = isFile ? await host.files.read(file) : await host.lima.readConfig(arg);
    } catch (error) {
      if (error instanceof CliError) throw error; // there, but not to be read (host/files.ts)
      const code = (error as NodeJS.ErrnoException).code;
      if (isFile) throw new CliError(EXIT.FAILURE, `cannot read ${file}: ${code ?? String(error)}`);
      throw noSuchInstance(arg, ` (LIMA_HOME is ${host.lima.limaHome}; there is no ${file})`);
    }
    targets.push({ kind: isFile ? "file" : "instance", vm: name ?? (isFile ? vmNameForFile(file) : arg), file, text });
  }
  return targets;
}

/** file → text, for code frames under diagnostics. */
export function sourcesOfTargets(targets: readonly Target[]): Map<string, string> {
  return new Map(targets.map((t) => [t.file, t.text]));
}
