// What diagnose's steps are judged from: the facts diagnose-facts.ts reads, and the pure choices
// of what to read (which host ports to probe, which WAN interfaces to look at).
import { protocolsOf, type Forward, type InterfaceName, type Ipv4Address, type VmSpec } from "../../../compiler/ir.js";
import type { InterfaceState } from "../../host/ifconfig.js";
import type { GuestRoute, GuestSocket } from "../../host/lima-guest.js";
import type { PortProbe } from "../../host/listeners.js";
import type { Reading } from "../reading.js";
import { parseRecordedInterfaces, type State } from "../state.js";
import type { RouterFacts } from "../router-apply.js";
import type { RouterState } from "../router-state.js";

export type AddressFact =
  | { kind: "found"; address: Ipv4Address; source: "lease" | "guest" }
  | { kind: "none" }
  /** An address PF must never redirect to (vmAddressProblem). */
  | { kind: "refused"; reason: string }
  | { kind: "error"; reason: string };

export interface DiagnoseFacts {
  instance: string;
  /** limactl list's status: Running, Stopped, Broken; "" when Lima cannot read lima.yaml. */
  status: string;
  /** Lima's error when it cannot read lima.yaml (status ""), else null. */
  limaError?: string | null;
  /** Why PF cannot reach the VM at all (no vmnet network), or null. */
  unreachable: { message: string; hint: string } | null;
  /** The guest interface of its vmnet network (lima0) and that network's name (shared). */
  device: string;
  network: string | null;
  file: string;
  leasesFile: string;
  /** `unreadable`: lima.yaml could not be read at all, and why. */
  annotation: { annotated: boolean; spec: VmSpec | null; errors: number; warnings: number; unreadable?: string };
  /** Null when the VM is not running (not looked up). */
  address: AddressFact | null;
  /** Null when the VM is not running. */
  guest: { addresses: Reading<Ipv4Address[]>; routes: Reading<GuestRoute[]>; sockets: Reading<GuestSocket[]> } | null;
  pf: {
    enabled: Reading<boolean>;
    anchorPoints: Reading<{ rdr: boolean; filter: boolean }>;
    labels: Reading<ReadonlySet<string>>;
    forwarding: Reading<string>;
  };
  state: Reading<State>;
  /** pf.conf holds both anchor points (null: unreadable). */
  pfConfPoints: boolean | null;
  /** When the facts were read (ms since the epoch): whether the watcher's pause is over. */
  now: number;
  /** Probes of the host ports, by `tcp/2222` (portsToProbe says which). */
  hostPorts: ReadonlyMap<string, PortProbe>;
  defaultInterface: InterfaceName | null;
  /** Each WAN interface any forward uses (wanInterfacesToCheck), null when it does not exist. */
  interfaces: ReadonlyMap<string, Reading<InterfaceState | null>>;
  /** Null unless --external: the Mac's address as the internet sees it. */
  publicAddress: Reading<Ipv4Address> | null;
  /** Only when a forward is marked `router`: what the gateway said, and LimaWAN's record of its mappings. */
  router?: { facts: RouterFacts; recorded: RouterState | null } | null;
}

/** Ports probed per forward at most: a range of 1,000 is not worth 1,000 binds. */
export const MAX_PORTS_PER_FORWARD = 16;

/** The host ports worth probing for a forward (the first of a range). */
export function portsToProbe(forward: Forward): Array<{ protocol: "tcp" | "udp"; port: number }> {
  const ports: Array<{ protocol: "tcp" | "udp"; port: number }> = [];
  for (const protocol of protocolsOf(forward.protocol)) {
    for (let port = forward.host.first; port <= Math.min(forward.host.last, forward.host.first + MAX_PORTS_PER_FORWARD - 1); port++) ports.push({ protocol, port });
  }
  return ports;
}

/**
 * The WAN interfaces a forward's rules use: its own (`on`, `interface`), else those its rules
 * were loaded with (the state's), else what `up` would take now (the default route's).
 */
export function forwardInterfaces(forward: Forward, applied: boolean, state: State | null, defaultInterface: InterfaceName | null): InterfaceName[] {
  if (forward.interfaces) return forward.interfaces;
  const recorded = applied && state ? parseRecordedInterfaces(state.interfaces) : undefined;
  return recorded ?? (defaultInterface ? [defaultInterface] : []);
}

/** Every interface a forward of this spec would be checked on. */
export function wanInterfacesToCheck(spec: VmSpec | null, state: State | null, defaultInterface: InterfaceName | null): string[] {
  const names = new Set<string>();
  const applied = Boolean(state && spec && state.vms[spec.vm]);
  for (const forward of spec?.forwards ?? []) for (const name of forwardInterfaces(forward, applied, state, defaultInterface)) names.add(name);
  return [...names].sort();
}

