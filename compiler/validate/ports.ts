// Port numbers, ranges, overlaps inside one VM, and the privileged-port policy.
import { CODES, DiagnosticSink } from "../diagnostic.js";
import { formatRange, protocolsOf, rangeLength, type ForwardDraft, type Located, type PortRange } from "../ir.js";

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

/** Host ports claimed twice inside one VM (tcp and udp counted apart); sweep, not all pairs. */
export function validateHostOverlaps(forwards: readonly ForwardDraft[], sink: DiagnosticSink): Set<ForwardDraft> {
  const bad = new Set<ForwardDraft>();
  for (const protocol of ["tcp", "udp"] as const) {
    const claims = forwards
      .filter((f) => protocolsOf(f.protocol).includes(protocol))
      .sort((a, b) => a.host.value.first - b.host.value.first || a.at.line - b.at.line);
    let widest: ForwardDraft | undefined;
    for (const forward of claims) {
      if (widest && widest.host.value.last >= forward.host.value.first) {
        const [earlier, later] = widest.at.line <= forward.at.line ? [widest, forward] : [forward, widest];
        if (!bad.has(later)) {
          sink.error(
            CODES.HOST_PORT_OVERLAP,
            later.host.at,
            `host ${protocol} port ${formatRange(later.host.value)} is already used by \`${earlier.name.value}\` on line ${earlier.at.line}`,
            "Each host port can forward to one place only; pick another host port.",
          );
          bad.add(later);
        }
      }
      if (!widest || forward.host.value.last > widest.host.value.last) widest = forward;
    }
  }
  return bad;
}
