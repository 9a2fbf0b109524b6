// lima.yaml files as the user has them: one named on the command line (plan, check), and the
// instance's lima.yaml that `expose`/`unexpose` rewrite. Written atomically, keeping owner and
// mode (under sudo the file must stay the user's, not become root's), through a symlink to the
// file it names — only when that file is the user's own: a link planted to /etc/… must not
// make LimaWAN write there.
import { constants } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import { CliError, EXIT } from "../errors.js";
import { writeAtomic } from "./atomic-write.js";
import type { Runner } from "./run.js";

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
    if (problem) throw new CliError(EXIT.FAILURE, `refusing to read ${file}: ${problem}`, "Lima's files in your Lima home are your own, and small.");
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
