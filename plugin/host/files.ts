// lima.yaml files as the user has them: one named on the command line (plan, check), and the instance's lima.yaml
// that `expose`/`unexpose` rewrite. Written atomically, keeping owner and mode: under sudo
// the file must stay the user's, not become root's.
import { readFile, stat } from "node:fs/promises";
import type { Runner } from "./run.js";
import { writeAtomic } from "./atomic-write.js";

export class LimaYamlFiles {
  constructor(private readonly runner: Runner) {}

  async read(file: string): Promise<string> {
    return readFile(file, "utf8");
  }

  async rewrite(file: string, text: string): Promise<void> {
    if (this.runner.dryRun) {
      this.runner.noteWrite(file, text);
      return;
    }
    const info = await stat(file);
    await writeAtomic(file, text, { mode: info.mode & 0o777, chown: { uid: info.uid, gid: info.gid } });
  }
}
