// lima.yaml files as the user has them: one named on the command line (plan, check), and the
// instance's lima.yaml that `expose`/`unexpose` rewrite. Written atomically with the user's own
// rights (under sudo too: host/user-file.ts), keeping owner and mode, through a symlink to the
// file it names — only when that file is the user's own: a link planted to /etc/… must not make
// LimaWAN write there.
import { constants } from "node:fs";
import { realpathSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { CliError, EXIT } from "../errors.js";
import { replaceFileSync } from "./atomic-write.js";
import type { Runner } from "./run.js";
import { withUserRights, type UserRights } from "./user-file.js";

/** Larger files are refused unread: compiler/read-yaml.ts reports 1 MiB and up, and reading must stay bounded. */
const READ_CEILING_BYTES = 16 * 1024 * 1024;

/**
 * A file from the user's Lima home (a lima.yaml, networks.yaml, a host agent's log). `owner`: as
 * root, the uid the file must belong to (whoever asked, or the daemon's user): root must not read,
 * and print in diagnostics, a file only root may read because a link in the user's Lima home
 * points there. Links are followed and the file opened is the one checked (no race with the link
 * changing); anything but a regular file (a FIFO, /dev/zero, a terminal) is refused unread.
 * `tail`: only the last that many bytes (a log's last line).
 */
export async function readUserFile(file: string, owner: number | null, options: { tail?: number } = {}): Promise<string> {
  // O_NONBLOCK: a FIFO opens without waiting for a writer; O_NOCTTY: a terminal does not become
  // the controlling terminal of a process without one (the daemon). Both before the fstat below.
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const info = await handle.stat();
    const problem = !info.isFile()
      ? "it is not a regular file"
      : owner !== null && info.uid !== owner
        ? `it belongs to uid ${info.uid}, not to the user LimaWAN reads it for (uid ${owner})`
        : options.tail === undefined && info.size > READ_CEILING_BYTES
          ? `it is ${info.size.toLocaleString("en-US")} bytes`
          : null;
    if (problem) throw new CliError(EXIT.FAILURE, `refusing to read ${file}: ${problem}`, "Lima's files in your Lima home are your own, and small.", undefined, null, "unsafe-path");
    if (options.tail === undefined) return await handle.readFile("utf8");
    const length = Math.min(info.size, options.tail);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, info.size - length);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
}

export class LimaYamlFiles {
  constructor(private readonly runner: Runner) {}

  /** A file named on the command line: any owner, but only a regular file (never a FIFO). */
  async read(file: string): Promise<string> {
    return readUserFile(file, null);
  }

  /**
   * Replace `file`'s text, for `user` (whoever asked for the edit; null: this process's own): the
   * file it names must be theirs. Root for a user (--sudo) resolves, checks and writes with the
   * user's rights (host/user-file.ts), so a directory on the way swapped for a link after the
   * check leads nowhere the user could not write themselves.
   */
  async rewrite(file: string, text: string, user: UserRights | null): Promise<void> {
    const owner = user?.uid ?? process.getuid?.() ?? 0;
    try {
      withUserRights(user, () => {
        const target = realpathSync(file);
        const info = statSync(target);
        if (info.uid !== owner) {
          throw new CliError(
            EXIT.FAILURE,
            `refusing to edit ${file}: ${target === file ? "it" : `it links to ${target}, which`} belongs to uid ${info.uid}, not to you (uid ${owner})`,
            "Edit the file you own, or replace the link with a copy of it.",
          );
        }
        if (this.runner.dryRun) this.runner.noteWrite(file, text);
        else replaceFileSync(target, text, { mode: info.mode & 0o777, owner: { uid: info.uid, gid: info.gid } });
      });
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(EXIT.FAILURE, `cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "LimaWAN writes your lima.yaml with your own rights, also under sudo: make its directory yours to write.");
    }
  }
}
