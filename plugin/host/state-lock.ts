// The lock every command that changes the host holds: a file created whole and exclusively (a
// record linked to the lock's name: link(2) never replaces), naming its holder — PID, the boot it
// runs in, a nonce. A waiter takes it over only when that holder is
// gone (no such process, or the record is from an earlier boot); a live holder keeps it however
// long its work takes. A lock refreshed by a timer (proper-lockfile) could be taken from a holder
// whose event loop a long compile kept busy, and the holder then died of ECOMPROMISED.
import { crypto } from "./lazy-builtins.js";
import { execFileSync } from "node:child_process";
import { constants } from "node:fs";
import { link, open, rename, rm } from "node:fs/promises";
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

export interface LockOptions {
  /** How the waiter waits between looks (tests script what other processes do meanwhile). */
  pause?: (ms: number) => Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function acquireLock(file: string, command: string, timeoutMs: number, options: LockOptions = {}): Promise<() => Promise<void>> {
  const pause = options.pause ?? sleep;
  const me: LockHolder = { pid: process.pid, boot: currentBoot(), nonce: crypto().randomBytes(8).toString("hex"), command, since: Date.now() };
  const deadline = Date.now() + timeoutMs;
  // One `ps` per holder (its nonce) while waiting on it, not one a poll.
  let asked: { nonce: string; started: number | null } | null = null;
  for (;;) {
    if (await tryCreate(file, me)) return () => release(file, me);
    const seen = await readRecord(file);
    if (seen === "gone") continue; // released meanwhile: try again at once
    const holder = parseHolder(seen.text);
    if (holder === null) {
      // No whole record: an older LimaWAN between creating the file and writing it, or one that
      // died there (this one's records are whole from the start: tryCreate). Taken over only if
      // the very same file (device, inode, size, mtime) still holds no record after a wait: a
      // waiter that took it over meanwhile may have made a fresh one in its place.
      await pause(POLL_MS);
      const again = await readRecord(file);
      if (again !== "gone" && again.identity === seen.identity && parseHolder(again.text) === null) await takeOver(file, (moved) => moved.identity === seen.identity);
      continue;
    }
    const startedAt = (pid: number) => {
      if (asked?.nonce !== holder.nonce) asked = { nonce: holder.nonce, started: processStart(pid) };
      return asked.started;
    };
    if (!holderAlive(holder, currentBoot(), startedAt)) {
      await takeOver(file, (moved) => parseHolder(moved.text)?.nonce === holder.nonce);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new CliError(
        EXIT.ENVIRONMENT,
        `another limawan command holds ${file} (PID ${holder.pid}: ${holder.command})`,
        "Wait for it to finish, then retry.",
        undefined,
        null,
        "lock-held",
      );
    }
    await pause(POLL_MS);
  }
}

/**
 * Create the lock with its record already in it: the record is written to a file of our own,
 * then linked to the lock's name, which fails if a lock exists (link(2) never replaces). So a
 * lock file never exists empty or half-written.
 */
async function tryCreate(file: string, me: LockHolder): Promise<boolean> {
  const own = `${file}.${me.pid}-${me.nonce}`;
  try {
    const handle = await open(own, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(me)}\n`);
    } finally {
      await handle.close();
    }
    await link(own, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new CliError(EXIT.ENVIRONMENT, `cannot create the lock ${file}: ${(error as Error).message}`, undefined, undefined, null, isPermissionError(error) ? "needs-root" : null);
  } finally {
    await rm(own, { force: true });
  }
}

/** The lock file as found: its text, and which file it is (identity); "gone" when there is none. */
interface LockRecord { text: string; identity: string }

async function readRecord(file: string): Promise<LockRecord | "gone"> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    // Anything but a missing file (a link planted in root's directory …) is a record nobody wrote.
    return (error as NodeJS.ErrnoException).code === "ENOENT" ? "gone" : { text: "", identity: `unreadable ${(error as NodeJS.ErrnoException).code}` };
  }
  try {
    const info = await handle.stat();
    const text = info.isFile() && info.size <= 4096 ? await handle.readFile("utf8") : "";
    return { text, identity: `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}` };
  } finally {
    await handle.close();
  }
}

/** A record's holder; null when there is no whole record (empty, half-written, garbled). */
function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid === "number" && typeof value.boot === "number" && typeof value.nonce === "string") return { command: "?", ...value } as LockHolder;
  } catch {
    // half-written by a holder that died while writing it
  }
  return null;
}

/**
 * Move the judged file aside, and only then remove it: if what was moved is not the file judged
 * (a waiter took that one over meanwhile, and this is someone's fresh lock), it is put back.
 */
async function takeOver(file: string, judged: (moved: LockRecord) => boolean): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${crypto().randomBytes(4).toString("hex")}`;
  try {
    await rename(file, aside);
  } catch {
    return; // another waiter moved it first
  }
  const moved = await readRecord(aside);
  if (moved === "gone" || !judged(moved)) {
    await rename(aside, file).catch(() => undefined);
    return;
  }
  await rm(aside, { force: true }).catch(() => undefined);
}

async function release(file: string, me: LockHolder): Promise<void> {
  const record = await readRecord(file);
  if (record !== "gone" && parseHolder(record.text)?.nonce === me.nonce) await rm(file, { force: true });
}
