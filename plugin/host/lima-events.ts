// Lima's host-agent events (LIMA-FACTS.md §4), as pure functions of their text: a line of
// `limactl watch --json` (Lima ≥ 2.1), or of ha.stdout.log (every Lima), → what it means for
// forwarding.

/** What a host-agent event means for forwarding: only `running` and `stopping` are acted on. */
export type LimaPhase = "booting" | "running" | "stopping";
export interface LimaEvent { instance: string; phase: LimaPhase }

/** A host-agent event (`{"status":{…}}` in ha.stdout.log) → what it means for forwarding. */
export function parseEventPhase(line: string): LimaPhase | null {
  let parsed: { status?: EventStatus; event?: { status?: EventStatus } };
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== "object") return null;
  const status = parsed.event?.status ?? parsed.status ?? {};
  return status.exiting ? "stopping" : status.running ? "running" : "booting";
}

interface EventStatus { running?: boolean; exiting?: boolean }

/** A line of `limactl watch --json`: `{"instance":"web","event":{"time":…,"status":{…}}}`. */
export function parseWatchLine(line: string): LimaEvent | null {
  let parsed: { instance?: unknown };
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== "object" || typeof parsed.instance !== "string") return null;
  const phase = parseEventPhase(line);
  return phase ? { instance: parsed.instance, phase } : null;
}
