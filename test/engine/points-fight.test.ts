import { describe, expect, it } from "vitest";
import { decideRestore, FIGHT_WINDOW_MS, PAUSE_MS } from "../../plugin/engine/points-fight.js";

const MIN = 60_000;

describe("putting the anchor points back, or not", () => {
  it("puts them back, and remembers when", () => {
    expect(decideRestore({ restores: [], pausedUntil: null }, 1_000)).toEqual({ restore: true, history: { restores: [1_000], pausedUntil: null } });
  });

  it("stops after three restores within ten minutes: another tool keeps removing them", () => {
    const decision = decideRestore({ restores: [0, 2 * MIN, 4 * MIN], pausedUntil: null }, 5 * MIN);
    expect(decision).toEqual({ restore: false, history: { restores: [0, 2 * MIN, 4 * MIN], pausedUntil: 5 * MIN + PAUSE_MS }, fight: { restores: 3, until: 5 * MIN + PAUSE_MS } });
  });

  it("stays paused until the pause ends, then restores again with the old restores forgotten", () => {
    const paused = { restores: [0, 2 * MIN, 4 * MIN], pausedUntil: 20 * MIN };
    expect(decideRestore(paused, 19 * MIN)).toMatchObject({ restore: false, fight: { until: 20 * MIN } });
    expect(decideRestore(paused, 20 * MIN)).toEqual({ restore: true, history: { restores: [20 * MIN], pausedUntil: null } });
  });

  it("does not count restores older than the window", () => {
    expect(decideRestore({ restores: [0, MIN, 2 * MIN], pausedUntil: null }, 2 * MIN + FIGHT_WINDOW_MS)).toMatchObject({ restore: true });
  });
});
