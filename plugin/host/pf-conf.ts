// pf.conf adapter: back up, write a candidate beside the real file, have pfctl parse it, move
// it into place atomically (rename), then load it. A rejected candidate never replaces the
// file, so the Mac always boots with a pf.conf pfctl accepts. The edits themselves are pure
// (engine/pf-conf-edit.ts).
import { existsSync } from "node:fs";
import { readFile, realpath, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { CliError, EXIT } from "../errors.js";
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
      throw new CliError(EXIT.ENVIRONMENT, `cannot read ${this.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, "Set LIMAWAN_PF_CONF if your pf.conf lives elsewhere.");
    }
  }

  /** Replace the file with `text` (checked by pfctl first) and load it as the main ruleset. */
  async replace(text: string, previous: string): Promise<void> {
    if (this.runner.dryRun) {
      this.runner.noteWrite(this.file, text);
      await this.pfctl.loadMainRuleset(this.file);
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
    try {
      await this.pfctl.loadMainRuleset(this.file);
    } catch (error) {
      // Put the old file back so the next boot loads what was there before.
      await writeAtomic(candidate, previous, { mode });
      await rename(candidate, target);
      throw error;
    }
  }

  /** Load the file as it is (its anchor points are there, but not in the loaded ruleset). */
  async load(): Promise<void> {
    await this.pfctl.loadMainRuleset(this.file);
  }

  async removeBackup(): Promise<void> {
    if (this.runner.dryRun) this.runner.report(`would remove ${this.backup}`);
    else await rm(this.backup, { force: true });
  }
}
