// What a diagnose step is: one file each in this directory, listed in the order a packet meets
// them (index.ts). A step is judged once for the VM or once per forward, from the facts alone;
// a step whose dependency failed (or was skipped) is not judged but skipped with that reason,
// by the runner (../diagnose.ts), so no step repeats "the VM is not running".
import type { Forward, InterfaceName, Ipv4Address, VmSpec } from "../../../compiler/ir.js";
import type { DiagnoseFacts } from "./facts.js";
import { finding, type Finding, type Severity } from "../finding.js";
import type { Unread } from "../reading.js";

export type StepId =
  | "annotation"
  | "vm-running"
  | "address"
  | "guest-interface"
  | "guest-route"
  | "guest-listening"
  | "pf-enabled"
  | "anchor-points"
  | "anchor-rules"
  | "ip-forwarding"
  | "host-port"
  | "wan-interface"
  | "router"
  | "external";

/** A step's verdict: a Finding whose code is the step. */
export type Step = Finding<StepId>;

/** What a step is judged with: the facts, and for a forward's step its forward and where it goes. */
export interface StepInput {
  facts: DiagnoseFacts;
  spec: VmSpec;
  forward: Forward;
  /** The VM's address now, when known. */
  vmAddress: Ipv4Address | null;
  /** The WAN interfaces the forward's rules use (forwardInterfaces). */
  interfaces: readonly InterfaceName[];
  /** The VM's rules are in LimaWAN's record. */
  applied: boolean;
}

interface StepBase {
  id: StepId;
  /** Steps that must not have failed for this one to be judged. */
  dependsOn: readonly StepId[];
  /** Judged only when the facts (and, per forward, the forward) hold what it needs (the public address: --external; a forward marked `router`). */
  when?: (facts: DiagnoseFacts, forward: Forward | null) => boolean;
  /** Why the steps that depend on this one are skipped when it failed (default: its title failed). */
  blocks?: (facts: DiagnoseFacts) => string;
}

export type DiagnoseStep =
  | (StepBase & { per: "vm"; judge(facts: DiagnoseFacts): Step })
  | (StepBase & { per: "forward"; judge(input: StepInput): Step });

export const TITLES: Record<StepId, string> = {
  annotation: "annotation",
  "vm-running": "VM running",
  address: "VM address",
  "guest-interface": "guest interface",
  "guest-route": "guest default route",
  "guest-listening": "guest service",
  "pf-enabled": "PF enabled",
  "anchor-points": "anchor points",
  "anchor-rules": "anchor rules",
  "ip-forwarding": "IP forwarding",
  "host-port": "host port",
  "wan-interface": "WAN interface",
  router: "router",
  external: "from the internet",
};

export function step(id: StepId, verdict: Severity, detail: string, fix?: string): Step {
  return finding(id, verdict, TITLES[id], detail, fix);
}

export function skipped(id: StepId, why: string): Step {
  return step(id, "skip", why);
}

/** A fact that could not be read: unknown, saying why (or that root would read it). */
export function unread(id: StepId, reading: Unread): Step {
  return finding(id, "unknown", TITLES[id], reading.code === "needs-root" ? "needs root: add --sudo" : reading.reason, undefined, reading.code);
}

/** The guest's steps read the guest, which is not looked into without a vmnet network (the VM running is their dependency). */
export function noGuest(id: StepId): Step {
  return skipped(id, "no vmnet network");
}
