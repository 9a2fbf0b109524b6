// The system's sudo (/usr/bin/sudo, never one found on PATH: SYSTEM_PROGRAMS), run to re-run
// LimaWAN as root (elevate.ts decides what to run and what sudo's answer means). With a terminal
// sudo asks for the password on it; without one its stderr is passed on as it comes, and its
// start read to tell sudo's own refusal from the command's.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { SYSTEM_PROGRAMS } from "./run.js";

export const SUDO = SYSTEM_PROGRAMS.sudo;

/**
 * What running sudo came to: its exit and, without a terminal, whether sudo itself refused for
 * want of a password (rather than the command failing); or why it could not run.
 */
export type SudoOutcome = { code: number; passwordRefused: boolean } | { missing: true } | { error: NodeJS.ErrnoException };

/**
 * sudo's own refusal without a terminal (`-n`: "a password is required"; without `-n`: "a
 * terminal is required to read the password"), as sudo 1.9 prints it (plugins/sudoers/auth).
 * It comes before the command runs, so only the start of stderr is kept to look for it.
 */
const PASSWORD_REFUSAL = /^sudo: (a password is required|a terminal is required)/m;
const REFUSAL_WINDOW = 4096;

/** Run sudo with `argv`; stdin and stdout are this process's, stderr too with a terminal. */
export async function runSudo(argv: readonly string[], interactive: boolean): Promise<SudoOutcome> {
  if (!existsSync(SUDO)) return { missing: true };
  return new Promise((resolve) => {
    const child = spawn(SUDO, argv, { stdio: ["inherit", "inherit", interactive ? "inherit" : "pipe"] });
    let start = "";
    child.stderr?.on("data", (d: Buffer) => {
      if (start.length < REFUSAL_WINDOW) start += d.toString("utf8", 0, REFUSAL_WINDOW - start.length);
      process.stderr.write(d);
    });
    child.once("error", (error: NodeJS.ErrnoException) => resolve({ error }));
    child.once("close", (code, signal) => {
      const exit = code ?? 128 + (signal === "SIGINT" ? 2 : 15);
      resolve({ code: exit, passwordRefused: !interactive && exit !== 0 && PASSWORD_REFUSAL.test(start) });
    });
  });
}
