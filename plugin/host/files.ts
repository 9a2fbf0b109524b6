// lima.yaml files as the user has them: one named on the command line (plan, check), and the
// instance's lima.yaml that `expose`/`unexpose` rewrite. Written atomically, keeping owner and
// mode (under sudo the file must stay the user's, not become root's), through a symlink to the
// file it names — only when that file is the user's own: a link planted to /etc/… must not
// make LimaWAN write there.
import { readFile, realpath, stat } from "node:fs/promises";
import { CliError, EXIT } from "../errors.js";
import { writeAtomic } from "./atomic-write.js";
import type { Runner } from "./run.js";

export class LimaYamlFiles {
  constructor(private readonly runner: Runner) {}

  async read(file: string): Promise<string> {
    return readFile(file, "utf8");
  }

  /** Replace `file`'s text; `owner` is the user it must belong to (whoever asked for the edit). */
  async rewrite(file: string, text: string, owner: number): Promise<void> {
    const target = await realpath(file);
    const info = await stat(target);
    if (info.uid !== owner) {
      throw new CliError(
        EXIT.FAILURE,
        `refusing to edit ${file}: ${target === file ? "it" : `it links to ${target}, which`} belongs to uid ${info.uid}, not to you (uid ${owner})`,
        "Edit the file you own, or replace the link with a copy of it.",
      );
    }
    if (this.runner.dryRun) {
      this.runner.noteWrite(file, text);
      return;
    }
    await writeAtomic(target, text, { mode: info.mode & 0o777, chown: { uid: info.uid, gid: info.gid } });
  }
}
