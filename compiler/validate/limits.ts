// `limit N/DURATION` and `max N`: PF's max-src-conn-rate and max-src-conn count established
// TCP connections only (PF-FACTS.md §6), so they make no sense on UDP.
import { CODES, DiagnosticSink } from "../diagnostic.js";
import type { ConnectionLimit, ForwardDraft, Located } from "../ir.js";

export const MAX_CONNECTIONS = 1_000_000;
export const MAX_LIMIT_SECONDS = 86_400;

/**
 * PF keeps a rate as count × 1000 in 32 bits and decays it with count × elapsed seconds
 * (pf_add_threshold), so a larger product wraps and the rate comes out wrong — sources
 * banned early. (count + 1) × 1000 × seconds must fit in 32 bits.
 */
export const MAX_RATE_PRODUCT = Math.floor(0xffffffff / 1000);
export function rateFitsKernel(count: number, seconds: number): boolean {
  return (count + 1) * seconds <= MAX_RATE_PRODUCT;
}

export interface CheckedLimits { limit: ConnectionLimit | null; max: number | null }

const NO_LIMITS: Readonly<CheckedLimits> = Object.freeze({ limit: null, max: null });

export function validateLimits(forward: ForwardDraft, sink: DiagnosticSink): Readonly<CheckedLimits> | null {
  const { limit, max } = forward;
  if (!limit && !max) return NO_LIMITS;
  const at = (limit?.count.at ?? max?.at)!;
  if (forward.protocol === "udp") {
    sink.error(CODES.LIMIT_NOT_TCP, at, "`limit` and `max` count TCP connections; this forward is UDP only", "Remove them, or forward TCP.");
    return null;
  }
  if (forward.protocol === "tcp+udp") {
    sink.warning(
      CODES.LIMIT_TCP_PART_ONLY,
      at,
      "`limit` and `max` count the TCP part of this forward only",
      "UDP has no connections for PF to count; a source banned by `limit` is blocked on UDP too.",
    );
  }
  let ok = true;
  const check = (value: Located<number>, max: number, what: string): void => {
    if (!Number.isInteger(value.value) || value.value < 1 || value.value > max) {
      sink.error(CODES.LIMIT_VALUE, value.at, `${what} must be between 1 and ${max}`, "For example `limit 5/30s` or `max 50`.");
      ok = false;
    }
  };
  if (limit) {
    check(limit.count, MAX_CONNECTIONS, "the connection count");
    check(limit.seconds, MAX_LIMIT_SECONDS, "the period in seconds");
  }
  if (max) check(max, MAX_CONNECTIONS, "max");
  if (ok && limit && !rateFitsKernel(limit.count.value, limit.seconds.value)) {
    sink.error(
      CODES.LIMIT_VALUE,
      limit.count.at,
      `\`limit ${limit.count.value}/${limit.seconds.value}s\` is more than PF can count: connections × seconds must stay under ${MAX_RATE_PRODUCT}`,
      "Use a shorter period or a smaller count, e.g. `limit 100/1h`.",
    );
    ok = false;
  }
  if (!ok) return null;
  return {
    limit: limit ? { count: limit.count.value, seconds: limit.seconds.value } : null,
    max: max ? max.value : null,
  };
}
