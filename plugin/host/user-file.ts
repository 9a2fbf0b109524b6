// What root does for the user on the user's own files — `diagnose --report FILE`, and the
// lima.yaml `expose`/`unexpose` rewrite under --sudo — it does with the user's own rights. Root
// (through sudo, or the passwordless sudoers rule that runs only LimaWAN) must not become a way
// to write over a file only root may change, nor to write through a directory the user controls
// (a directory swapped for a link between a check and the write): with the invoking user's
// effective uid, gid and groups, the kernel refuses what they could not do themselves, and the
// files they get are theirs.
import { writeFileSync } from "node:fs";
import { CliError, EXIT } from "../errors.js";

export interface UserRights { uid: number; gid: number }

/**
 * Run `fn` with `user`'s rights when root acts for them (as that user already, or with no user,
 * it just runs). Synchronous from the switch to the restore: nothing else runs as the user.
 */
export function withUserRights<T>(user: UserRights | null, fn: () => T): T {
  if (!user || process.geteuid?.() !== 0) return fn();
  const groups = process.getgroups!();
  process.setgroups!([user.gid]);
  process.setegid!(user.gid);
  process.seteuid!(user.uid);
  try {
    return fn();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
    process.setgroups!(groups);
  }
}

export function writeUserFile(file: string, text: string, user: UserRights | null): void {
  try {
    withUserRights(user, () => writeFileSync(file, text, { mode: 0o644 }));
  } catch (error) {
    throw new CliError(EXIT.FAILURE, `cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "Name a file you can write (the report is written with your rights, also under sudo).");
  }
}
