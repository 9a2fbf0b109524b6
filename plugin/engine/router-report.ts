// What status shows of a forward's router mappings, from the recorded router state (pure):
// each port's mapping — protocol, external address:port, expiry — or why there is none, and
// whether the router sits behind another NAT. The lines are for people, the data for --json.
import { printable } from "../../compiler/printable.js";
import { behindAnotherNat, classifyExternalAddress, externalAddressProblem } from "../router/external-address.js";
import type { RouterState } from "./router-state.js";
import { protocolName } from "./router-sync.js";

export interface ForwardRouterStatus {
  mapped: Array<{ protocol: "tcp" | "udp"; port: number; via: "pcp" | "nat-pmp" | "upnp"; externalAddress: string | null; externalPort: number; expiresAt: string | null }>;
  unmapped: Array<{ protocol: "tcp" | "udp"; port: number; problem: string }>;
  /** The router's external address is private or carrier-grade NAT space: what that means and what to do. */
  anotherNat: { summary: string; hint: string } | null;
}

export function forwardRouterStatus(router: RouterState, instance: string, forward: string): ForwardRouterStatus | null {
  const entries = router.entries.filter((e) => e.instance === instance && e.forward === forward);
  if (entries.length === 0) return null;
  const mapped: ForwardRouterStatus["mapped"] = [];
  const unmapped: ForwardRouterStatus["unmapped"] = [];
  for (const e of entries) {
    if (e.mapping) {
      mapped.push({
        protocol: e.protocol,
        port: e.port,
        via: e.mapping.via,
        externalAddress: router.publicAddress ?? e.mapping.externalAddress,
        externalPort: e.mapping.externalPort,
        expiresAt: e.expiresAt === null ? null : new Date(e.expiresAt).toISOString(),
      });
    } else unmapped.push({ protocol: e.protocol, port: e.port, problem: e.problem ?? "not mapped yet" });
  }
  const address = router.publicAddress;
  const kind = address ? classifyExternalAddress(address) : null;
  const anotherNat = address && kind && behindAnotherNat(kind) ? externalAddressProblem(address, kind) : null;
  return { mapped, unmapped, anotherNat };
}

/** `router: 203.0.113.7:2222 (PCP, until …)` per port, or `router: tcp 2222 not mapped: …`. */
export function routerLines(status: ForwardRouterStatus, now: number): string[] {
  const lines = status.mapped.map((m) => {
    const until = m.expiresAt === null ? "permanent" : `expires in ${duration(Date.parse(m.expiresAt) - now)}`;
    return `router: ${m.protocol} ${m.port} -> ${m.externalAddress ?? "?"}:${m.externalPort} (${protocolName(m.via)}, ${until})${m.externalPort !== m.port ? ` — the router opened ${m.externalPort}, not ${m.port}` : ""}`;
  });
  for (const u of status.unmapped) lines.push(`router: ${u.protocol} ${u.port} not mapped: ${printable(u.problem)}`);
  if (status.anotherNat) lines.push(`router: ${status.anotherNat.summary}. ${status.anotherNat.hint}`);
  return lines;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  const minutes = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)}h${minutes ? ` ${minutes}m` : ""}`;
}
