// Who holds the state lock (plugin/host/state-lock.ts): a record's process must run, in this
// boot, and must have started before it wrote the record; a later process has reused the PID.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { acquireLock, currentBoot, elapsedSeconds, holderAlive, type LockHolder } from "../../plugin/host/state-lock.js";

const holder = (extra: Partial<LockHolder> = {}): LockHolder => ({ pid: process.pid, boot: currentBoot(), nonce: "n", command: "up web", ...extra });

describe("the state lock's holder", () => {
  it("reads ps's elapsed time in each of its forms", () => {
    expect(elapsedSeconds("   00:07")).toBe(7);
    expect(elapsedSeconds("12:34")).toBe(754);
    expect(elapsedSeconds("01:02:03")).toBe(3723);
    expect(elapsedSeconds("2-01:02:03")).toBe(2 * 86_400 + 3723);
    expect(() => elapsedSeconds("garbage")).toThrow(/not an elapsed time/);
  });

  it("holds while its process runs and started before the record; not a process that started after it (a reused PID)", () => {
    const since = Date.now() - 60_000;
    expect(holderAlive(holder({ since }), currentBoot(), () => since - 1_000)).toBe(true);
    expect(holderAlive(holder({ since }), currentBoot(), () => since + 30_000)).toBe(false);
    // Unknown start, or a record without one (an older LimaWAN's): the live PID holds.
    expect(holderAlive(holder({ since }), currentBoot(), () => null)).toBe(true);
    expect(holderAlive(holder(), currentBoot(), () => Date.now())).toBe(true);
    // The real ps: this test's process started before "now".
    expect(holderAlive(holder({ since: Date.now() }))).toBe(true);
    expect(holderAlive(holder({ since: Date.now() - 3_600_000 }))).toBe(process.uptime() > 3_600);
  });

  it("does not hold from an earlier boot, or once its process is gone", () => {
    expect(holderAlive(holder({ boot: currentBoot() - 86_400 }))).toBe(false);
    expect(holderAlive(holder({ pid: 2 ** 22 + 12_345 }))).toBe(false);
  });
});

describe("taking the state lock", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "limawan-lock-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const lockFile = () => path.join(dir, `state-${++n}.lock`);
  const live = (nonce: string) => `${JSON.stringify({ pid: process.pid, boot: currentBoot(), nonce, command: "up db", since: Date.now() - 1_000 })}\n`;

  // What test/e2e/plugin.e2e.test.ts once bounded by the clock ("at once"): a holder that is
  // gone is taken over on the first look, never waited on. Any pause here would be a wait.
  it("takes over, without a single pause, a dead holder's lock, one from an earlier boot, and one whose PID a later process reuses", async () => {
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid;
    const reuser = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    await new Promise((resolve) => reuser.once("spawn", resolve));
    try {
      const records = [
        { pid: gone, boot: currentBoot(), nonce: "dead", command: "watch" },
        { pid: process.pid, boot: currentBoot() - 86_400, nonce: "old", command: "up web" },
        { pid: reuser.pid, boot: currentBoot(), nonce: "reused", command: "up web", since: Date.now() - 60_000 },
      ];
      for (const record of records) {
        const file = lockFile();
        writeFileSync(file, `${JSON.stringify(record)}\n`);
        let pauses = 0;
        const release = await acquireLock(file, "up web", 60_000, { pause: async () => void pauses++ });
        expect({ nonce: record.nonce, pauses }).toEqual({ nonce: record.nonce, pauses: 0 });
        expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ pid: process.pid, command: "up web" });
        await release();
      }
    } finally {
      reuser.kill();
    }
  });

  // Was test/e2e/plugin.e2e.test.ts's 7 s holder ("however long it holds it"): a live holder's
  // record is never judged by its age, nor by how long the waiter has waited.
  it("never takes over a live holder's lock, however old its record and however long it is waited on", async () => {
    const file = lockFile();
    writeFileSync(file, live("busy"));
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(file, anHourAgo, anHourAgo);
    let pauses = 0;
    // Thirty seconds of polls (at 100 ms; the old lock called a holder stale after 5 s), each a look
    // at a record that is still the holder's; then it lets go.
    const pause = async () => {
      if (++pauses === 300) rmSync(file);
    };
    const release = await acquireLock(file, "up web", 60_000, { pause });
    expect(pauses).toBe(300);
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ pid: process.pid, command: "up web" });
    await release();
  });

  it("takes over an empty record no one ever wrote (a holder that died between creating and writing it)", async () => {
    const file = lockFile();
    writeFileSync(file, "");
    const release = await acquireLock(file, "up web", 5_000);
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ pid: process.pid, command: "up web" });
    await release();
    expect(existsSync(file)).toBe(false);
  });

  it("never takes over an empty record that another waiter put in place of the one it judged, nor that record once written", async () => {
    const file = lockFile();
    writeFileSync(file, ""); // a dead holder's
    // What other processes do while this waiter waits: another waiter takes the dead record over
    // and creates its own (an older LimaWAN: empty at first), then writes it.
    const others = [
      () => {
        rmSync(file);
        writeFileSync(file, "");
      },
      () => writeFileSync(file, live("theirs")),
    ];
    const pause = async () => {
      others.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await expect(acquireLock(file, "up web", 300, { pause })).rejects.toThrow(/another limawan command holds .* \(PID \d+: up db\)/);
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ nonce: "theirs" });
  });

  it("keeps one holder at a time among many, and a record is never seen empty or half-written", async () => {
    const file = lockFile();
    let holding = 0;
    let most = 0;
    const seen: string[] = [];
    let done = false;
    const watch = (async () => {
      while (!done) {
        const text = await readFile(file, "utf8").catch(() => null);
        if (text !== null) seen.push(text);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const release = await acquireLock(file, `up vm${i}`, 20_000, { pause: () => new Promise((resolve) => setTimeout(resolve, 2)) });
        most = Math.max(most, ++holding);
        await new Promise((resolve) => setTimeout(resolve, 10));
        holding--;
        await release();
      }),
    );
    done = true;
    await watch;
    expect(most).toBe(1);
    expect(seen.length).toBeGreaterThan(0);
    for (const text of seen) expect(() => JSON.parse(text), JSON.stringify(text)).not.toThrow();
    expect(readdirSync(dir).filter((f) => f.startsWith(path.basename(file)))).toEqual([]);
  });
});
