// `router`: the forward's host ports are mapped on the router too, one PCP/NAT-PMP/UPnP request
// per port and protocol (RFC 6887 §11 and RFC 6886 §3.3 map one port per request). A long range
// would be hundreds of requests at every renewal, and home routers keep small mapping tables.
import { CODES, DiagnosticSink } from "../diagnostic.js";
import { formatRange, rangeLength, type ForwardDraft, type RouterMapping } from "../ir.js";

/** The most host ports one forward asks the router to map. */
export const MAX_ROUTER_PORTS = 64;

/** The checked option (null when absent), or undefined when it was refused. */
export function validateRouter(forward: ForwardDraft, sink: DiagnosticSink): RouterMapping | null | undefined {
  if (!forward.router) return null;
  const ports = rangeLength(forward.host.value);
  if (ports > MAX_ROUTER_PORTS) {
    sink.error(
      CODES.ROUTER_RANGE_TOO_LONG,
      forward.router.at,
      `\`router\` would ask the router for ${ports} mappings (host ports ${formatRange(forward.host.value)}); LimaWAN maps at most ${MAX_ROUTER_PORTS} ports per forward`,
      `Split the range into forwards of at most ${MAX_ROUTER_PORTS} ports, or forward it on the router by hand.`,
    );
    return undefined;
  }
  return { upnp: forward.router.value.upnp };
}
