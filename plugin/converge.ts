// The one engine behind `up`, `down` and `watch`: under the state lock, observe the host,
// correct the state by what pfctl reports, let the command decide which VMs should be
// forwarded, render the anchor, plan, apply, record.
import { createHash } from "node:crypto";
import { emitAnchor, hasBanTable, hasSourceTable, type AnchorText } from "../compiler/emit-pf.js";
import { forwardIdentifiers } from "../compiler/pf-names.js";
import type { Ipv4Address, VmSpec } from "../compiler/ir.js";
import { plan, type Action, type Desired, type Observed } from "../compiler/plan.js";
import { applyActions } from "./apply.js";
import type { Context } from "./context.js";
import { CliError, EXIT } from "./errors.js";
import { hostFacts } from "./facts.js";
import { IP_FORWARDING } from "./host/sysctl.js";
import { StateStore, type AppliedVm, type State } from "./state.js";

export interface ConvergeResult {
  actions: Action[];
  before: State;
  after: State;
  /** Our anchor points are missing from PF's loaded ruleset and were left so (restorePfConf false). */
  anchorPointsMissing: boolean;
}

/** Observe what pfctl and sysctl say now. */
export async function observeHost(ctx: Context, state: State): Promise<Observed> {
  const [anchorPoints, references, forwarding, labels] = await Promise.all([
    ctx.pfctl.loadedAnchorPoints(),
    ctx.pfctl.references(),
    ctx.sysctl.get(IP_FORWARDING),
    ctx.pfctl.labels(),
  ]);
  return {
    anchorPoints,
    tokenHeld: state.pfToken !== null && references.has(state.pfToken),
    forwarding,
    labels: new Set(labels.keys()),
  };
}

/**
 * Make the recorded state true again (reboot, crash, hand edits): a token PF no longer knows
 * is dropped; a VM whose rules are no longer loaded is no longer applied.
 */
export function reconcileState(state: State, observed: Observed): State {
  const vms: Record<string, AppliedVm> = {};
  for (const [name, vm] of Object.entries(state.vms)) {
    if (labelsOf(vm.spec).every((label) => observed.labels.has(label))) vms[name] = vm;
  }
  const anchorIntact = Object.keys(vms).length === Object.keys(state.vms).length;
  return {
    ...state,
    vms,
    pfToken: observed.tokenHeld ? state.pfToken : null,
    anchorHash: anchorIntact ? state.anchorHash : null,
  };
}

export function labelsOf(spec: VmSpec): string[] {
  return spec.forwards.map((f) => forwardIdentifiers(spec.vm, f.name).label);
}

export function tablesOf(spec: VmSpec): string[] {
  return spec.forwards.flatMap((f) => {
    const ids = forwardIdentifiers(spec.vm, f.name);
    return [...(hasSourceTable(f) ? [ids.sourceTable] : []), ...(hasBanTable(f) ? [ids.banTable] : [])];
  });
}

export function hashAnchor(text: AnchorText): string {
  return createHash("sha256").update(text).digest("hex");
}

export type Decide = (state: State) => Promise<AppliedVm[]>;

export interface ConvergeOptions {
  /** --interface, overriding the default route's interface. */
  interface?: string;
  /** Render with the interfaces recorded at the last load (down: the other VMs' rules stay byte-identical). */
  keepInterfaces?: boolean;
  /** New list of instances held down (down adds, up removes); unchanged when absent (watch). */
  heldDown?: (before: State) => string[];
  /**
   * Restore missing anchor points by editing and loading pf.conf (default). The watcher says
   * false: DESIGN.md keeps that to install/uninstall and `up`, since loading the main ruleset
   * drops what other tools (vmnet's NAT, a VPN) loaded; repeated by a daemon, the two fight.
   */
  restorePfConf?: boolean;
}

export async function converge(ctx: Context, decide: Decide, options: ConvergeOptions = {}): Promise<ConvergeResult> {
  const store = new StateStore(ctx.environment.paths.stateDir, ctx.runner);
  return store.locked(async () => {
    const recorded = await store.read();
    const observed = await observeHost(ctx, recorded);
    const before = reconcileState(recorded, observed);
    const wanted = await decide(before);

    const specs = wanted.map((vm) => vm.spec);
    const recordedInterfaces = options.keepInterfaces && before.interfaces.length > 0 ? before.interfaces.join(",") : undefined;
    const facts = specs.length > 0 ? await hostFacts(ctx, specs, options.interface ?? recordedInterfaces) : null;
    const emitted = facts
      ? emitAnchor(wanted.map((vm) => ({ spec: vm.spec, address: vm.address as Ipv4Address })), facts)
      : null;
    if (emitted && !emitted.ok) {
      const first = emitted.diagnostics[0]!;
      throw new CliError(EXIT.FAILURE, `${first.file}:${first.line}:${first.column}: ${first.message}`, first.hint);
    }
    const text = emitted?.ok ? emitted.text : ("" as AnchorText);
    const desired: Desired = {
      text,
      hash: hashAnchor(text),
      labels: new Set(specs.flatMap(labelsOf)),
      tables: specs.flatMap(tablesOf),
    };
    const installed = { anchorHash: before.anchorHash, tables: Object.values(before.vms).flatMap((vm) => tablesOf(vm.spec)) };
    const planned = plan(desired, installed, observed);
    const anchorPointsMissing = options.restorePfConf === false && planned.some((a) => a.kind === "install-anchor-points");
    const actions = anchorPointsMissing ? planned.filter((a) => a.kind !== "install-anchor-points") : planned;

    // The state alone is not enough: it may have been lost while rules stayed loaded.
    const record = await applyActions(ctx, actions, before, before.anchorHash === null && observed.labels.size === 0);
    const after: State = {
      ...before,
      ...record,
      vms: Object.fromEntries(wanted.map((vm) => [vm.instance, vm])),
      // Null when nothing of ours is loaded (VMs whose annotations expose nothing included).
      anchorHash: desired.labels.size > 0 ? desired.hash : null,
      interfaces: facts ? [...facts.defaultInterfaces] : [],
      heldDown: options.heldDown ? options.heldDown(before) : before.heldDown,
    };
    if (actions.length > 0 || JSON.stringify(after) !== JSON.stringify(recorded)) await store.write(after);
    return { actions, before, after, anchorPointsMissing };
  });
}
