// The state file adapter: one JSON file in the state dir, written atomically
// (write-file-atomic) under a cross-process lock (state-lock.ts), so two commands at once
// lose nothing and a crash never leaves half a file. What the file may say is engine/state.ts's.
import { chmod, mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { CliError, EXIT, isPermissionError } from "../errors.js";
import type { Runner } from "./run.js";
import { writeAtomic } from "./atomic-write.js";
import { acquireLock } from "./state-lock.js";

/** `state.json.damaged-TIME`: a damaged state file, kept (moveAside). */
const DAMAGED_SUFFIX = ".damaged-";

/** How long a command waits for another to finish with the state. */
const LOCK_WAIT_MS = 60_000;

export class StateStore {
  readonly file: string;
  private readonly lockPath: string;

  constructor(readonly dir: string, private readonly runner: Runner) {
    this.file = path.join(dir, "state.json");
    this.lockPath = path.join(dir, "state.lock");
  }

  /** The file's text, or null when there is none yet. What it may say is engine/state.ts's. */
  async read(): Promise<string | null> {
    try {
      return await readFile(this.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw new CliError(EXIT.ENVIRONMENT, `cannot read ${this.file}: ${(error as Error).message}`, "Run it as the user who owns the VMs; LimaWAN raises its privileges itself.", undefined, null, isPermissionError(error) ? "needs-root" : null);
    }
  }

  /** Replace the file atomically (dry-run: show `summary`). */
  async write(text: string, summary: string): Promise<void> {
    if (this.runner.dryRun) {
      this.runner.noteWrite(this.file, text, summary);
      return;
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomic(this.file, text, { mode: 0o600 });
  }

  /**
   * Keep a damaged file as `state.json.damaged-TIME` beside it (root's alone, like the state),
   * for whoever wants to know what it said; the state is then written afresh. Returns its path
   * (dry-run: the path it would get).
   */
  async moveAside(now: Date): Promise<string> {
    const stamp = now.toISOString().replace(/[:.]/g, "-");
    let aside = `${this.file}${DAMAGED_SUFFIX}${stamp}`;
    for (let n = 2; await exists(aside); n++) aside = `${this.file}${DAMAGED_SUFFIX}${stamp}-${n}`;
    if (this.runner.dryRun) {
      this.runner.report(`would move the damaged ${this.file} aside to ${aside}`);
      return aside;
    }
    await rename(this.file, aside);
    await chmod(aside, 0o600);
    return aside;
  }

  /** Damaged state files kept beside the state (moveAside), oldest first. */
  async damagedCopies(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new CliError(EXIT.ENVIRONMENT, `cannot read ${this.dir}: ${(error as Error).message}`, undefined, undefined, null, isPermissionError(error) ? "needs-root" : null);
    }
    const prefix = `${path.basename(this.file)}${DAMAGED_SUFFIX}`;
    return names.filter((n) => n.startsWith(prefix)).sort().map((n) => path.join(this.dir, n));
  }

  async remove(): Promise<void> {
    if (this.runner.dryRun) this.runner.report(`would remove ${this.file}`);
    else await rm(this.file, { force: true });
  }

  /** Run `fn` holding the state lock (state-lock.ts). In dry-run no lock is taken (nothing is written). */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    if (this.runner.dryRun) return fn();
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const release = await acquireLock(this.lockPath, process.argv.slice(2).join(" "), LOCK_WAIT_MS);
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
