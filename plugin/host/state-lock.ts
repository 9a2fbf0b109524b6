// The lock every command that changes the host holds: a file created exclusively (O_EXCL), naming
// its holder — PID, the boot it runs in, a nonce. A waiter takes it over only when that holder is
// gone (no such process, or the record is from an earlier boot); a live holder keeps it however
// long its work takes. A lock refreshed by a timer (proper-lockfile) could be taken from a holder
// whose event loop a long compile kept busy, and the holder then died of ECOMPROMISED.
import { crypto } from "./lazy-builtins.js";
import { execFileSync } from "node:child_process";
import { constants } from "node:fs";
import { open, readFile, rename, rm } from "node:fs/promises";
import os from "node:os";
import { CliError, EXIT, isPermissionError } from "../errors.js";

export interface LockHolder {
  pid: number;
  boot: number;
  nonce: string;
  command: string;
  /** When the record was written (ms since the epoch): its process cannot have started later. */
  since?: number;
}

const POLL_MS = 100;
/** Boot times read a second apart can differ by a second or two (uptime is whole seconds). */
const SAME_BOOT_SLACK_S = 5;

export function currentBoot(): number {
  return Math.round(Date.now() / 1000 - os.uptime());
}

/**
 * Whether a recorded holder still holds: its process runs, in this boot, and started before it
 * wrote the record (a later one reuses a dead holder's PID). `startedAt`: when a process started
 * (ms since the epoch), null when it cannot be told; then the PID is taken for the holder.
 */
export function holderAlive(holder: LockHolder, boot = currentBoot(), startedAt: (pid: number) => number | null = processStart): boolean {
  if (Math.abs(holder.boot - boot) > SAME_BOOT_SLACK_S) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false; // EPERM: alive, someone else's
  }
  if (typeof holder.since !== "number") return true;
  const started = startedAt(holder.pid);
  return started === null || started <= holder.since + SAME_BOOT_SLACK_S * 1000;
}

/** A process's start, from `ps -o etime=` (`[[DD-]hh:]mm:ss` elapsed, macOS and procps alike). */
function processStart(pid: number): number | null {
  try {
    const etime = execFileSync("/bin/ps", ["-o", "etime=", "-p", String(pid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5_000 }).trim();
    return Date.now() - elapsedSeconds(etime) * 1000;
  } catch {
    return null;
  }
}

export function elapsedSeconds(etime: string): number {
  const m = /^(?:(?:(\d+)-)?(\d+):)?(\d+):(\d+)$/.exec(etime.trim());
  if (!m) throw new Error(`not an elapsed time: ${etime}`);
  const [days, hours, minutes, seconds] = m.slice(1).map((v) => Number(v ?? 0));
  return ((days! * 24 + hours!) * 60 + minutes!) * 60 + seconds!;
}

export async function acquireLock(file: string, command: string, timeoutMs: number): Promise<() => Promise<void>> {
  const me: LockHolder = { pid: process.pid, boot: currentBoot(), nonce: crypto().randomBytes(8).toString("hex"), command, since: Date.now() };
  const deadline = Date.now() + timeoutMs;
  // One `ps` per holder (its nonce) while waiting on it, not one a poll.
  let asked: { nonce: string; started: number | null } | null = null;
  for (;;) {
    if (await tryCreate(file, me)) return () => release(file, me);
    const holder = await readHolder(file);
    if (holder === "gone") continue; // released meanwhile: try again at once
    if (holder === null) {
      await takeOver(file, null);
      continue;
    }
    const startedAt = (pid: number) => {
      if (asked?.nonce !== holder.nonce) asked = { nonce: holder.nonce, started: processStart(pid) };
      return asked.started;
    };
    if (!holderAlive(holder, currentBoot(), startedAt)) {
      await takeOver(file, holder);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new CliError(
        EXIT.ENVIRONMENT,
        `another limawan command holds ${file} (PID ${holder.pid}: ${holder.command})`,
        "Wait for it to finish, then retry.",
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function tryCreate(file: string, me: LockHolder): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new CliError(EXIT.ENVIRONMENT, `cannot create the lock ${file}: ${(error as Error).message}`, undefined, undefined, null, isPermissionError(error) ? "needs-root" : null);
  }
  try {
    await handle.writeFile(`${JSON.stringify(me)}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

/** The holder's record; null when unreadable (a holder that died before writing it); "gone" when there is no lock. */
async function readHolder(file: string): Promise<LockHolder | null | "gone"> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT" ? "gone" : null;
  }
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid === "number" && typeof value.boot === "number" && typeof value.nonce === "string") return { command: "?", ...value } as LockHolder;
  } catch {
    // half-written by a holder that died while writing it
  }
  return text === "" ? await emptyRecord(file) : null;
}

/** An empty record: a holder between creating the file and writing it, or one that died there. */
async function emptyRecord(file: string): Promise<null | "gone"> {
  await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  const again = await readFile(file, "utf8").catch(() => null);
  return again === null ? "gone" : again === "" ? null : ((await readHolder(file)) as null);
}

/**
 * Move the dead holder's file aside, and only then remove it: if it turns out to be someone
 * else's fresh lock (taken over by another waiter meanwhile), it is put back.
 */
async function takeOver(file: string, dead: LockHolder | null): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${crypto().randomBytes(4).toString("hex")}`;
  try {
    await rename(file, aside);
  } catch {
    return; // another waiter moved it first
  }
  const moved = await readFile(aside, "utf8").catch(() => "");
  if (dead !== null && !moved.includes(`"nonce":"${dead.nonce}"`)) {
    await rename(aside, file).catch(() => undefined);
    return;
  }
  await rm(aside, { force: true });
}

async function release(file: string, me: LockHolder): Promise<void> {
  const holder = await readHolder(file);
  if (holder !== null && holder !== "gone" && holder.nonce === me.nonce) await rm(file, { force: true });
}
