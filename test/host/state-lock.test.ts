// Who holds the state lock (plugin/host/state-lock.ts): a record's process must run, in this
// boot, and must have started before it wrote the record; a later process has reused the PID.
import { describe, expect, it } from "vitest";
import { currentBoot, elapsedSeconds, holderAlive, type LockHolder } from "../../plugin/host/state-lock.js";

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
