// A command the user configured (watch's --on-public-address), run through /bin/sh as that
// user — never as root: root runs it with the uid, gid, home and PATH of whoever ran sudo (or
// the daemon's recorded user), and refuses when it knows of no such user. Its input is JSON on
// stdin (never in the command line: nothing a router says reaches a shell's parser); its output
// is not read; it is given a bounded time.
import { spawn } from "node:child_process";
import type { UserIdentity } from "./run.js";

export type UserCommandResult = { ran: true; exitCode: number | null; timedOut: boolean } | { ran: false; reason: string };

export function runUserCommand(command: string, input: string, identity: UserIdentity | null, timeoutMs = 60_000): Promise<UserCommandResult> {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (root && (!identity || identity.uid === 0)) return Promise.resolve({ ran: false, reason: "no invoking user is known (SUDO_USER), and it is never run as root" });
  return new Promise((resolve) => {
    let timedOut = false;
    const child = spawn("/bin/sh", ["-c", command], { stdio: ["pipe", "ignore", "inherit"], ...(identity ?? {}) });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ ran: false, reason: error.message });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ ran: true, exitCode: code, timedOut });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}
