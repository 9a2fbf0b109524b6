// When to stop putting our anchor points back. A VPN client or firewall that loads its own main
// ruleset drops them; the watcher puts them back. If that tool does it again and again, the two
// would replace each other's ruleset forever: after FIGHT_RESTORES restores within FIGHT_WINDOW,
// the watcher stops for PAUSE and says so. Pure: the history lives in the state file.

export const FIGHT_WINDOW_MS = 10 * 60_000;
export const FIGHT_RESTORES = 3;
export const PAUSE_MS = 15 * 60_000;

export interface PointsHistory {
  /** When the watcher last put the points back (ms), newest last, within the window. */
  restores: number[];
  /** Until when it does not (ms), or null. */
  pausedUntil: number | null;
}

export type RestoreDecision =
  | { restore: true; history: PointsHistory }
  | { restore: false; history: PointsHistory; fight: { restores: number; until: number } };

export function decideRestore(history: PointsHistory, now: number): RestoreDecision {
  const recent = history.restores.filter((t) => now - t < FIGHT_WINDOW_MS);
  if (history.pausedUntil !== null && now < history.pausedUntil) {
    return { restore: false, history: { restores: recent, pausedUntil: history.pausedUntil }, fight: { restores: recent.length, until: history.pausedUntil } };
  }
  if (recent.length >= FIGHT_RESTORES) {
    const until = now + PAUSE_MS;
    return { restore: false, history: { restores: recent, pausedUntil: until }, fight: { restores: recent.length, until } };
  }
  return { restore: true, history: { restores: [...recent, now], pausedUntil: null } };
}
