// Port numbers, ranges, overlaps inside one VM, and the privileged-port policy.
import { CODES, DiagnosticSink, type Span } from "../diagnostic.js";
import { formatRange, protocolsOf, rangeLength, type Forward, type ForwardDraft, type Located, type PortRange } from "../ir.js";

export const MIN_PORT = 1;
export const MAX_PORT = 65535;
export const FIRST_UNPRIVILEGED_PORT = 1024;

/** Ports in range, ranges ordered, guest and host ranges of equal length. */
export function validatePortShapes(forward: ForwardDraft, sink: DiagnosticSink): boolean {
  const guestOk = validateRange(forward.guest, "guest", sink);
  const hostOk = validateRange(forward.host, "host", sink);
  if (!guestOk || !hostOk) return false;
  const guestLength = rangeLength(forward.guest.value);
  const hostLength = rangeLength(forward.host.value);
  if (guestLength !== hostLength) {
    sink.error(
      CODES.RANGE_LENGTH,
      forward.host.at,
      `host ports ${formatRange(forward.host.value)} (${hostLength}) and guest ports ${formatRange(forward.guest.value)} (${guestLength}) differ in length`,
      "A range maps port by port onto a range of the same length.",
    );
    return false;
  }
  return true;
}

function validateRange(range: Located<PortRange>, side: string, sink: DiagnosticSink): boolean {
  const { first, last } = range.value;
  for (const port of first === last ? [first] : [first, last]) {
    if (!Number.isInteger(port) || port < MIN_PORT || port > MAX_PORT) {
      sink.error(
        CODES.PORT_RANGE,
        range.at,
        `${side} port ${Number.isFinite(port) ? port : "(too many digits)"} is out of range`,
        `Ports are ${MIN_PORT}–${MAX_PORT}.`,
      );
      return false;
    }
  }
  if (first > last) {
    sink.error(CODES.REVERSED_RANGE, range.at, `${side} port range ${first}-${last} runs backwards`, `Write it low to high: ${last}-${first}.`);
    return false;
  }
  return true;
}

export function validatePrivileged(forward: ForwardDraft, allowed: boolean, sink: DiagnosticSink): boolean {
  if (allowed || forward.host.value.first >= FIRST_UNPRIVILEGED_PORT) return true;
  sink.error(
    CODES.PRIVILEGED_PORT,
    forward.host.at,
    `host port ${forward.host.value.first} is privileged (below ${FIRST_UNPRIVILEGED_PORT})`,
    "Use a host port of 1024 or more, or add `allow privileged` to the annotation if you mean it.",
  );
  return false;
}

/** A checked forward's host ports, with where they are written (for the diagnostic). */
export interface HostClaim { forward: Forward; at: Span }

/** Host ports claimed twice inside one VM (tcp and udp counted apart); sweep, not all pairs. */
export function validateHostOverlaps(claims: readonly HostClaim[], sink: DiagnosticSink): Set<HostClaim> {
  const bad = new Set<HostClaim>();
  for (const protocol of ["tcp", "udp"] as const) {
    const sorted = claims
      .filter((c) => protocolsOf(c.forward.protocol).includes(protocol))
      .sort((a, b) => a.forward.host.first - b.forward.host.first || a.forward.line - b.forward.line);
    let widest: HostClaim | undefined;
    for (const claim of sorted) {
      if (widest && widest.forward.host.last >= claim.forward.host.first) {
        const [earlier, later] = widest.forward.line <= claim.forward.line ? [widest, claim] : [claim, widest];
        if (!bad.has(later)) {
          sink.error(
            CODES.HOST_PORT_OVERLAP,
            later.at,
            `host ${protocol} port ${formatRange(later.forward.host)} is already used by \`${earlier.forward.name}\` on line ${earlier.forward.line}`,
            "Each host port can forward to one place only; pick another host port.",
          );
          bad.add(later);
        }
      }
      if (!widest || claim.forward.host.last > widest.forward.host.last) widest = claim;
    }
  }
  return bad;
}
