// The I/O half of pf.conf editing: back up, write a candidate beside the real file, have
// pfctl parse it, move it into place atomically (rename), then load it. A rejected candidate
// never replaces the file, so the Mac always boots with a pf.conf pfctl accepts.
import { readFile, realpath, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import type { Context } from "./context.js";
import { CliError, EXIT } from "./errors.js";
import { insertAnchorPoints, removeAnchorPoints } from "./pf-conf.js";

export function backupPath(ctx: Context): string {
  return path.join(ctx.environment.paths.stateDir, "pf.conf.before-limawan");
}

async function readPfConf(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new CliError(EXIT.ENVIRONMENT, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, "Set LIMAWAN_PF_CONF if your pf.conf lives elsewhere.");
  }
}

/** Returns true when the file changed. Undo with `restorePfConf(previousText)`. */
export async function installAnchorPoints(ctx: Context): Promise<{ changed: boolean; previous: string }> {
  const file = ctx.environment.paths.pfConf;
  const previous = await readPfConf(file);
  const result = insertAnchorPoints(previous);
  if (!result.ok) throw new CliError(EXIT.FAILURE, `cannot add anchor points to ${file}: ${result.reason}`, "Add `rdr-anchor \"limawan\"` and `anchor \"limawan\"` by hand, in the translation and filter sections.");
  if (!result.changed) return { changed: false, previous };
  ctx.out.warn(
    `loading ${file} replaces PF's main ruleset: anchors macOS added at run time (vmnet's NAT for running VMs) ` +
      "come back when those VMs restart; install with the VMs stopped to avoid that.",
  );
  await replacePfConf(ctx, file, result.text, previous);
  return { changed: true, previous };
}

export async function removeAnchorPointsFromFile(ctx: Context): Promise<boolean> {
  const file = ctx.environment.paths.pfConf;
  const previous = await readPfConf(file);
  const result = removeAnchorPoints(previous);
  if (result.unrecognised > 0) {
    ctx.out.warn(`${file} has ${result.unrecognised} limawan marker(s) around edited lines; left as they are — remove them by hand`);
  }
  if (!result.changed) return false;
  await replacePfConf(ctx, file, result.text, previous);
  return true;
}

export async function restorePfConf(ctx: Context, text: string): Promise<void> {
  const file = ctx.environment.paths.pfConf;
  await replacePfConf(ctx, file, text, await readPfConf(file));
}

async function replacePfConf(ctx: Context, file: string, text: string, previous: string): Promise<void> {
  if (ctx.dryRun) {
    ctx.runner.noteWrite(file, text);
    await ctx.pfctl.loadMainRuleset(file);
    return;
  }
  const backup = backupPath(ctx);
  if (!(await exists(backup))) {
    await writeFileAtomic(backup, previous, { mode: 0o600 });
  }
  // Write through a symlink (nix-darwin links /etc/pf.conf into the store): renaming over the
  // link itself would replace it with a plain file.
  const target = await realpath(file);
  const candidate = path.join(path.dirname(target), `.${path.basename(target)}.limawan-new`);
  const mode = (await stat(target)).mode & 0o777;
  await writeFileAtomic(candidate, text, { mode });
  try {
    await ctx.pfctl.checkMainRuleset(candidate);
  } catch (error) {
    await rm(candidate, { force: true });
    throw error;
  }
  await rename(candidate, target);
  try {
    await ctx.pfctl.loadMainRuleset(file);
  } catch (error) {
    // Put the old file back so the next boot loads what was there before.
    await writeFileAtomic(candidate, previous, { mode });
    await rename(candidate, target);
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

