// Every file LimaWAN writes is written atomically (write-file-atomic: a temporary file in the
// same directory, fsync, rename), so a crash never leaves half a file. write-file-atomic writes
// through a symlink to its target; LimaWAN refuses a symlink instead — root's files live in
// directories only root can change, so a link there was planted — except where the caller has
// already resolved a link it means to follow (a user's lima.yaml, nix-darwin's pf.conf).
// Loaded on first use: most commands write nothing.
import { closeSync, constants, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { lstat } from "node:fs/promises";
import path from "node:path";
import { crypto } from "./lazy-builtins.js";
import type { Options } from "write-file-atomic";
import { CliError, EXIT } from "../errors.js";

export async function writeAtomic(file: string, text: string, options: Options): Promise<void> {
  const existing = await lstat(file).catch(() => null);
  if (existing?.isSymbolicLink()) {
    throw new CliError(EXIT.ENVIRONMENT, `refusing to write ${file}: it is a symbolic link`, "Remove the link; LimaWAN writes this file itself.", undefined, null, "unsafe-path");
  }
  const { default: writeFileAtomic } = await import("write-file-atomic");
  await writeFileAtomic(file, text, options);
}

/**
 * Replace `file` (a regular file, not a link) with `text`, synchronously: a new file beside it
 * (O_EXCL, O_NOFOLLOW), written, synced, given `mode` and — where the caller may — `owner`,
 * then renamed over it. For a write made with a user's rights (host/user-file.ts), which must
 * stay synchronous; write-file-atomic's own would fail where a user may not keep the group.
 */
export function replaceFileSync(file: string, text: string, options: { mode: number; owner: { uid: number; gid: number } }): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.limawan-${process.pid}-${crypto().randomBytes(4).toString("hex")}`);
  const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      const bytes = Buffer.from(text, "utf8");
      for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
      fchmodSync(fd, options.mode);
      try {
        fchownSync(fd, options.owner.uid, options.owner.gid);
      } catch (error) {
        // A user may not give a file a group they are not in: it keeps the one it was made with.
        if ((error as NodeJS.ErrnoException).code !== "EPERM") throw error;
      }
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
