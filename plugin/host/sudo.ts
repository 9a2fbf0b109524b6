// The system's sudo (/usr/bin/sudo, never one found on PATH: SYSTEM_PROGRAMS), run to re-run
// LimaWAN as root (elevate.ts decides what to run and what sudo's answer means). With a terminal
// sudo asks for the password on it; without one its stderr is read, to tell its own refusal
// from the command's, and passed on as it comes.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { SYSTEM_PROGRAMS } from "./run.js";

export const SUDO = SYSTEM_PROGRAMS.sudo;

/** What running sudo came to: its exit (and stderr, without a terminal), or why it could not run. */
export type SudoOutcome = { code: number; stderr: string } | { missing: true } | { error: NodeJS.ErrnoException };

/** Run sudo with `argv`; stdin and stdout are this process's, stderr too with a terminal. */
export async function runSudo(argv: readonly string[], interactive: boolean): Promise<SudoOutcome> {
  if (!existsSync(SUDO)) return { missing: true };
  return new Promise((resolve) => {
    const child = spawn(SUDO, argv, { stdio: ["inherit", "inherit", interactive ? "inherit" : "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
      process.stderr.write(d);
    });
    child.once("error", (error: NodeJS.ErrnoException) => resolve({ error }));
    child.once("close", (code, signal) => resolve({ code: code ?? 128 + (signal === "SIGINT" ? 2 : 15), stderr }));
  });
}
