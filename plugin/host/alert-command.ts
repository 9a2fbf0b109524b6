// monitor's --alert-cmd: the user's own command line, run through /bin/sh with one event as a
// JSON line on its stdin (mail, a webhook: README). Root runs it as the user who ran `limactl
// limawan monitor` (sudo's SUDO_USER), with their home and PATH: the command is theirs, and must
// not become a way to run anything as root. Its output goes nowhere but its stderr, to ours.
import { spawn } from "node:child_process";
import type { UserIdentity } from "./run.js";

/** How the command ended: its exit code, or why it could not be started. */
export type AlertOutcome = { code: number | null } | { error: string };

export function runAlertCommand(command: string, input: string, user: UserIdentity | null): Promise<AlertOutcome> {
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", command], { stdio: ["pipe", "ignore", "inherit"], ...(user ?? {}) });
    child.once("error", (error) => resolve({ error: error.message }));
    child.once("close", (code) => resolve({ code }));
    child.stdin!.on("error", () => undefined);
    child.stdin!.end(input);
  });
}
