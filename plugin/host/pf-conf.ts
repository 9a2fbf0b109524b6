// pf.conf adapter: back up, write a candidate beside the real file, have pfctl parse it, move
// it into place atomically (rename). A rejected candidate never replaces the file, so the Mac
// always boots with a pf.conf pfctl accepts. The file is for the next boot: LimaWAN never loads
// it (engine/anchor-points.ts). The edits themselves are pure (compiler/pf/pf-conf-edit.ts).
import { existsSync } from "node:fs";
import { readFile, realpath, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { CliError, EXIT, isPermissionError } from "../errors.js";
import type { Pfctl } from "./pfctl.js";
import type { Runner } from "./run.js";
import { writeAtomic } from "./atomic-write.js";

export class PfConf {
  /** The untouched copy of pf.conf kept beside LimaWAN's state before its first edit. */
  readonly backup: string;

  constructor(
    readonly file: string,
    stateDir: string,
    private readonly pfctl: Pfctl,
    private readonly runner: Runner,
  ) {
    this.backup = path.join(stateDir, "pf.conf.before-limawan");
  }

  async read(): Promise<string> {
    try {
      return await readFile(this.file, "utf8");
    } catch (error) {
      throw new CliError(EXIT.ENVIRONMENT, `cannot read ${this.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, "Set LIMAWAN_PF_CONF if your pf.conf lives elsewhere.", undefined, null, isPermissionError(error) ? "needs-root" : null);
    }
  }

  /**
   * Replace the file with `text`, checked by pfctl first, for the next boot. Not loaded: that
   * would replace the whole main ruleset, and drop what macOS inserted at run time (PF-FACTS.md
   * §4a); the anchor points go into the loaded ruleset on their own (engine/anchor-points.ts).
   */
  async replace(text: string, previous: string): Promise<void> {
    if (this.runner.dryRun) {
      this.runner.noteWrite(this.file, text);
      return;
    }
    if (!existsSync(this.backup)) await writeAtomic(this.backup, previous, { mode: 0o600 });
    // Write through a symlink (nix-darwin links /etc/pf.conf into the store): renaming over the
    // link itself would replace it with a plain file.
    const target = await realpath(this.file);
    const candidate = path.join(path.dirname(target), `.${path.basename(target)}.limawan-new`);
    const mode = (await stat(target)).mode & 0o777;
    await writeAtomic(candidate, text, { mode });
    try {
      await this.pfctl.checkMainRuleset(candidate);
    } catch (error) {
      await rm(candidate, { force: true });
      throw error;
    }
    await rename(candidate, target);
  }

  async removeBackup(): Promise<void> {
    if (this.runner.dryRun) this.runner.report(`would remove ${this.backup}`);
    else await rm(this.backup, { force: true });
  }
}
