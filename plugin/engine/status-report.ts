// Pure: what `status` shows, from what was read (instances, their compiled annotations, the
// state file, PF's labels). One classification, printed as a table or as JSON.
import { statusUnreadableJson, type Unreadable } from "./finding-render.js";
import type { Finding } from "./finding.js";
import { isDeepStrictEqual } from "node:util";
import { CODES, type Diagnostic } from "../../compiler/diagnostic.js";
import { formatRange, type Forward, type VmSpec } from "../../compiler/ir.js";
import { pfNamesOf } from "../../compiler/pf-names.js";
import type { DaemonStatus } from "../host/launchd.js";
import type { LabelCounters } from "../host/pfctl.js";
import type { DesiredState } from "./desired-state.js";
import { appliedPfNames, type AppliedVm, type State } from "./state.js";

export type { Unreadable } from "./finding-render.js";

/** LimaWAN's state file: damaged now (why), and damaged files kept since (state-recovery.ts). */
export interface StateFileStatus { damaged: string | null; movedAside: readonly string[] }

export interface HostStatus {
  /** null: the state could not be read (as a user: it is root's). */
  stateFile: StateFileStatus | null;
  pf: { enabled: boolean; anchorPoints: { rdr: boolean; filter: boolean }; referenceHeld: boolean; missingPoints: string | null } | null;
  forwarding: string | null;
  daemon: DaemonStatus | null;
  unreadable: Unreadable[];
}

export interface StatusReport {
  host: HostStatus;
  instances: InstanceStatus[];
  /** Loaded labels that belong to no VM the state knows: left by a crash or a hand edit. */
  strayLabels: string[];
}

/** Everything status read (null: could not be read; see `unreadable`). */
export interface StatusInput {
  /** Instances asked for (empty: every instance Lima lists and every applied one). */
  names: readonly string[];
  state: State | null;
  stateFile: StateFileStatus | null;
  desired: DesiredState | null;
  labels: ReadonlyMap<string, LabelCounters> | null;
  anchorPoints: { rdr: boolean; filter: boolean } | null;
  enabled: boolean | null;
  references: ReadonlySet<string> | null;
  forwarding: string | null;
  daemon: DaemonStatus | null;
  /** What could not be read: unknown findings, each with its reason code. */
  unreadable: Finding[];
  /** pf.conf holds our points (null: unreadable). */
  pfConfPoints: boolean | null;
  /** Instances whose lima.yaml Lima cannot read, with Lima's error. */
  limaErrors?: ReadonlyMap<string, string>;
  now: number;
}

/** Why our anchor points are missing from the loaded ruleset, said the same by status and doctor. */
export function missingPointsReason(state: Pick<State, "points"> | null, pfConfPoints: boolean | null, now: number): string {
  const until = state?.points.pausedUntil ?? null;
  if (until !== null && now < until) {
    return `another tool keeps removing them, so the watcher stopped putting them back until ${new Date(until).toISOString()}; \`limactl limawan up --all\` puts them back now`;
  }
  if (pfConfPoints === false) return "missing from pf.conf too (a macOS update may have rewritten it); `limactl limawan up --all` restores both";
  return "another tool loaded its own main ruleset (a VPN client or firewall?); `limactl limawan up --all` puts them back";
}

export function statusReport(input: StatusInput): StatusReport {
  const { state, desired, labels } = input;
  const listed = desired?.read.map((r) => r.instance.name) ?? [];
  const names = input.names.length > 0 ? [...input.names] : [...new Set([...listed, ...Object.keys(state?.vms ?? {})])].sort();
  const instances = names.map((name) => {
    const read = desired?.read.find((r) => r.instance.name === name);
    const result = read?.result;
    const conflicts = new Map((result?.diagnostics ?? []).filter((d) => d.code === CODES.CLAIMED_BY_OTHER_VM).map((d) => [d.line, d.message] as const));
    return instanceStatus(
      {
        instance: name,
        // Not listed by Lima (whose listing covers every instance directory): deleted; Unknown when Lima could not be asked.
        status: read?.instance.status ?? (desired ? "Deleted" : "Unknown"),
        address: read?.address ?? null,
        annotated: result?.annotated ?? false,
        spec: result?.standalone ?? null,
        diagnostics: result?.diagnostics ?? [],
        conflicts,
        heldDown: state?.heldDown.includes(name) ?? false,
        notForwarded: desired?.skipped.find((s) => s.instance === name)?.reason ?? null,
        limaError: input.limaErrors?.get(name) ?? null,
      },
      state?.vms[name],
      labels,
      state?.interfaces ?? [],
    );
  });
  const known = new Set(state ? appliedPfNames(state).map((n) => n.label) : []);
  return {
    host: {
      stateFile: input.stateFile,
      pf:
        input.enabled !== null && input.anchorPoints !== null
          ? {
              enabled: input.enabled,
              anchorPoints: input.anchorPoints,
              referenceHeld: Boolean(state?.pfToken && input.references?.has(state.pfToken)),
              missingPoints: input.anchorPoints.rdr && input.anchorPoints.filter ? null : missingPointsReason(state, input.pfConfPoints, input.now),
            }
          : null,
      forwarding: input.forwarding,
      daemon: input.daemon,
      unreadable: input.unreadable.map(statusUnreadableJson),
    },
    instances,
    strayLabels: [...(labels?.keys() ?? [])].filter((l) => !known.has(l)),
  };
}

export type ForwardState = "applied" | "pending" | "stale" | "conflicting" | "inactive";

export interface ForwardStatus {
  name: string;
  protocol: string;
  host: string;
  interfaces: string[];
  target: string;
  state: ForwardState;
  /** Why it is not simply applied. */
  reason?: string;
  evaluations: number | null;
  packets: number | null;
  bytes: number | null;
  states: number | null;
}

export interface InstanceStatus {
  instance: string;
  status: string;
  /** `down` took it out: the watcher leaves it alone until `up` names it again. */
  heldDown: boolean;
  /** Lima cannot read its lima.yaml (it lists it with an empty status): Lima's error. */
  limaError: string | null;
  address: string | null;
  /** Why the VM cannot be forwarded now (an address refused, no vmnet network, an unreadable file), or null. */
  notForwarded: string | null;
  annotated: boolean;
  valid: boolean;
  diagnostics: Diagnostic[];
  forwards: ForwardStatus[];
}

export interface InstanceInput {
  instance: string;
  status: string;
  address: string | null;
  annotated: boolean;
  /** The annotation compiled on its own (null when it has errors of its own). */
  spec: VmSpec | null;
  diagnostics: Diagnostic[];
  /** Host-port clashes with the rules loaded for other VMs, by the forward's line. */
  conflicts: ReadonlyMap<number, string>;
  heldDown?: boolean;
  notForwarded?: string | null;
  limaError?: string | null;
}

export function instanceStatus(input: InstanceInput, applied: AppliedVm | undefined, labels: ReadonlyMap<string, LabelCounters> | null, defaultInterfaces: readonly string[]): InstanceStatus {
  const running = input.status === "Running";
  const forwards: ForwardStatus[] = [];
  // Only loaded rules have counters: those of the applied record, by the names it was loaded with.
  const loadedLabels = new Map(applied ? pfNamesOf(applied.spec).map((n) => [n.forward as string, n.label]) : []);
  const row = (f: Forward, address: string | null, state: ForwardState, reason?: string): ForwardStatus => {
    const label = loadedLabels.get(f.name);
    const counters = label === undefined ? undefined : labels?.get(label);
    return {
      name: f.name,
      protocol: f.protocol,
      host: formatRange(f.host),
      interfaces: f.interfaces ?? [...defaultInterfaces],
      target: `${address ?? "?"}:${formatRange(f.guest)}`,
      state,
      ...(reason ? { reason } : {}),
      evaluations: counters?.evaluations ?? null,
      packets: counters?.packets ?? null,
      bytes: counters?.bytes ?? null,
      states: counters?.states ?? null,
    };
  };

  if (input.spec) {
    for (const f of input.spec.forwards) {
      const was = applied?.spec.forwards.find((a) => a.name === f.name);
      const conflict = input.conflicts.get(f.line);
      if (conflict && !was) forwards.push(row(f, input.address, "conflicting", conflict));
      else if (was && !running) forwards.push(row(was, applied!.address, "stale", "VM is not running"));
      else if (was && isDeepStrictEqual(was, f) && applied!.address === input.address) forwards.push(row(f, applied!.address, "applied"));
      else if (was && applied!.address !== input.address) forwards.push(row(was, applied!.address, "stale", `VM address is now ${input.address ?? "unknown"}`));
      else if (was) forwards.push(row(was, applied!.address, "stale", "annotation changed since up"));
      else if (running) forwards.push(row(f, input.address, "pending"));
      else forwards.push(row(f, input.address, "inactive", "VM is not running"));
    }
  }
  // Forwards still loaded whose statement left the annotation.
  for (const f of applied?.spec.forwards ?? []) {
    if (!input.spec?.forwards.some((x) => x.name === f.name)) forwards.push(row(f, applied!.address, "stale", "no longer in the annotation"));
  }
  return {
    instance: input.instance,
    status: input.status,
    heldDown: input.heldDown ?? false,
    limaError: input.limaError ?? null,
    address: input.address,
    notForwarded: input.notForwarded ?? null,
    annotated: input.annotated,
    valid: input.spec !== null || !input.annotated,
    diagnostics: input.diagnostics,
    forwards,
  };
}
