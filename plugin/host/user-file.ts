// A file the user asked for by name (`diagnose --report FILE`), written with the user's own
// rights. Root (through sudo, or the passwordless sudoers rule that runs only LimaWAN) must not
// become a way to write Markdown over a file only root may change: under sudo the write runs
// with the invoking user's effective uid, gid and groups, so the kernel refuses what they could
// not do themselves, and the file they get is theirs.
import { writeFileSync } from "node:fs";
import { CliError, EXIT } from "../errors.js";

export function writeUserFile(file: string, text: string, user: { uid: number; gid: number } | null): void {
  const write = () => writeFileSync(file, text, { mode: 0o644 });
  try {
    if (!user || process.geteuid?.() !== 0) {
      write();
      return;
    }
    // Synchronous from here to the restore: nothing else runs as the user meanwhile.
    const groups = process.getgroups!();
    process.setgroups!([user.gid]);
    process.setegid!(user.gid);
    process.seteuid!(user.uid);
    try {
      write();
    } finally {
      process.seteuid!(0);
      process.setegid!(0);
      process.setgroups!(groups);
    }
  } catch (error) {
    throw new CliError(EXIT.FAILURE, `cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "Name a file you can write (the report is written with your rights, also under sudo).");
  }
}
