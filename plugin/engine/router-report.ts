// What status shows of a forward's router mappings, from the recorded router state (pure):
// each port's mapping — protocol, external address:port, expiry — or why there is none, and
// whether the router sits behind another NAT. The lines are for people, the data for --json.
import { printable } from "../../compiler/printable.js";
import { behindAnotherNat, classifyExternalAddress, externalAddressProblem } from "../router/external-address.js";
import type { RouterFacts } from "./router-apply.js";
import type { RouterState } from "./router-state.js";
import { protocolName } from "./router-sync.js";
import type { StatusReport } from "./status-report.js";

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

export interface RouterFinding { level: "ok" | "warn" | "fail"; detail: string; hint?: string }

/** `doctor`: which of PCP, NAT-PMP and UPnP the gateway answers, and what its external address says. */
export function doctorRouterFinding(facts: RouterFacts): RouterFinding {
  if (facts.problem || !facts.gateway) return { level: "warn", detail: facts.problem ?? "no gateway", hint: "Forwards marked `router` cannot be mapped until the Mac has a default route through a router." };
  const spoken = speakList(facts);
  if (spoken.length === 0) {
    return {
      level: "warn",
      detail: `the gateway ${facts.gateway} answers none of ${facts.speaks?.upnp === null ? "PCP and NAT-PMP (UPnP not asked: no forward says `router upnp`)" : "PCP, NAT-PMP and UPnP"}`,
      hint: "Turn on NAT-PMP/PCP (often \"UPnP/NAT-PMP\" or \"port mapping\") in the router's settings, or forward the ports on the router by hand.",
    };
  }
  const anotherNat = externalProblem(facts);
  if (anotherNat) return { level: "warn", detail: `the gateway ${facts.gateway} speaks ${spoken.join(", ")}; ${anotherNat.summary}`, hint: anotherNat.hint };
  return { level: "ok", detail: `the gateway ${facts.gateway} speaks ${spoken.join(", ")}${facts.externalAddress ? `; its external address is ${facts.externalAddress}` : ""}` };
}

/**
 * `diagnose`'s router step for a forward marked `router`: the gateway, which protocol answers,
 * the recorded mapping or refusal (with the router's code), and another NAT outside.
 */
export function diagnoseRouterStep(facts: RouterFacts, router: RouterState | null, instance: string, forward: string, now: number): RouterFinding {
  if (facts.problem || !facts.gateway) return { level: "fail", detail: facts.problem ?? "no gateway", hint: "Connect the Mac through a router (a default route), or forward the port by hand where the Mac's traffic leaves." };
  const spoken = speakList(facts);
  const heard = spoken.length > 0 ? `the gateway ${facts.gateway} speaks ${spoken.join(", ")}` : `the gateway ${facts.gateway} answers no port-mapping protocol`;
  const status = router ? forwardRouterStatus(router, instance, forward) : null;
  const anotherNat = externalProblem(facts) ?? status?.anotherNat ?? null;
  if (!status) return { level: "warn", detail: `${heard}; not mapped yet`, hint: "`limactl limawan up` (or the watch daemon) asks the router to map it." };
  const lines = routerLines({ ...status, anotherNat: null }, now).map((l) => l.replace(/^router: /, ""));
  const detail = `${heard}; ${lines.join("; ")}${anotherNat ? `; ${anotherNat.summary}` : ""}`;
  if (status.unmapped.length > 0) return { level: "fail", detail, hint: spoken.length === 0 ? "Turn on NAT-PMP/PCP (or UPnP, with `router upnp`) in the router's settings, or forward the port by hand." : "The router's code says why; change its port-mapping settings, or forward the port by hand." };
  if (anotherNat) return { level: "warn", detail, hint: anotherNat.hint };
  return { level: "ok", detail };
}

function speakList(facts: RouterFacts): string[] {
  const s = facts.speaks;
  return s ? [s.pcp ? "PCP" : null, s.natPmp ? "NAT-PMP" : null, s.upnp ? "UPnP" : null].filter((p): p is string => p !== null) : [];
}

function externalProblem(facts: RouterFacts): { summary: string; hint: string } | null {
  if (!facts.externalAddress) return null;
  const kind = classifyExternalAddress(facts.externalAddress);
  return behindAnotherNat(kind) ? externalAddressProblem(facts.externalAddress, kind) : null;
}

/**
 * `diagnose --external` for a forward marked `router`: the public address the outside echo sees
 * against the router's own external address (different: another NAT outside, double NAT), and
 * the address:port clients use when the router mapped it. Null: the usual judgement applies.
 */
export function externalThroughRouter(publicAddress: string, routerExternal: string | null, status: ForwardRouterStatus | null): RouterFinding | null {
  if (routerExternal && routerExternal !== publicAddress) {
    return {
      level: "warn",
      detail: `double NAT: the router's external address is ${routerExternal}, but the internet sees ${publicAddress}: another NAT (a second router, or the ISP's carrier-grade NAT) sits outside the router, so its mapping cannot be reached from the internet`,
      hint: "Forward the port on the outer router too (or put the inner one in its DMZ / bridge mode); behind an ISP's CGNAT, ask for a public IPv4 address or use IPv6 or a tunnel.",
    };
  }
  const mapped = status?.mapped ?? [];
  if (mapped.length === 0) return null;
  return { level: "ok", detail: `the internet sees ${publicAddress}; the router maps ${mapped.map((m) => `${m.protocol} ${publicAddress}:${m.externalPort}`).join(", ")} to the Mac: clients connect there` };
}

/** The status report with each forward's router mappings (`router`: null when it has none recorded), for --json. */
export function statusWithRouter(report: StatusReport, router: RouterState | null): StatusReport {
  return { ...report, instances: report.instances.map((i) => ({ ...i, forwards: i.forwards.map((f) => ({ ...f, router: router ? forwardRouterStatus(router, i.instance, f.name) : null })) })) };
}
