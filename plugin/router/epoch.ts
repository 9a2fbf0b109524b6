// Whether a gateway restarted (and so lost every mapping) between two replies, from its epoch:
// the seconds since its mapping state began, which both PCP and NAT-PMP report in every reply.
// Compared with the time that passed on the Mac between the two replies:
// - both: it went back by more than a second (a clock that never goes back did);
// - PCP (RFC 6887 §8.5): either clock advanced by more than the other allows (2 s, plus 1/16
//   for clock drift);
// - NAT-PMP (RFC 6886 §3.6): it advanced by less than 7/8 of the Mac's elapsed time, less 2 s
//   (a slow gateway clock is allowed 1/8).
// The caller then maps everything again (the watcher's job).
import type { RouterProtocol } from "./result-codes.js";

export interface EpochReading {
  /** The epoch field of the reply. */
  epoch: number;
  /** When the reply arrived, in seconds on a clock that never goes back (the Mac's monotonic clock). */
  receivedAt: number;
}

export function gatewayRestarted(protocol: Exclude<RouterProtocol, "upnp">, previous: EpochReading, current: EpochReading): boolean {
  const serverDelta = current.epoch - previous.epoch;
  const clientDelta = current.receivedAt - previous.receivedAt;
  if (serverDelta < -1) return true;
  if (protocol === "nat-pmp") return serverDelta + 2 < clientDelta - clientDelta / 8;
  return clientDelta + 2 < serverDelta - serverDelta / 16 || serverDelta + 2 < clientDelta - clientDelta / 16;
}
