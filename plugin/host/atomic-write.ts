// Every file LimaWAN writes is written atomically (write-file-atomic: a temporary file in the
// same directory, fsync, rename), so a crash never leaves half a file. write-file-atomic writes
// through a symlink to its target; LimaWAN refuses a symlink instead — root's files live in
// directories only root can change, so a link there was planted — except where the caller has
// already resolved a link it means to follow (a user's lima.yaml, nix-darwin's pf.conf).
// Loaded on first use: most commands write nothing.
import { lstat } from "node:fs/promises";
import type { Options } from "write-file-atomic";
import { CliError, EXIT } from "../errors.js";

export async function writeAtomic(file: string, text: string, options: Options): Promise<void> {
  const existing = await lstat(file).catch(() => null);
  if (existing?.isSymbolicLink()) {
    throw new CliError(EXIT.ENVIRONMENT, `refusing to write ${file}: it is a symbolic link`, "Remove the link; LimaWAN writes this file itself.");
  }
  const { default: writeFileAtomic } = await import("write-file-atomic");
  await writeFileAtomic(file, text, options);
}
