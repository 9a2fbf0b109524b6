// The one engine behind every command that changes PF, and the watcher: under the state lock,
// observe the host, correct the state by what pfctl reports, ask what should be forwarded,
// compile the anchor, plan, apply, record.
import { emitAnchor, type AnchorText } from "../../compiler/emit-pf.js";
import type { InterfaceName } from "../../compiler/ir.js";
import { tablesOf } from "../../compiler/pf-names.js";
import { CliError, EXIT, isReason } from "../errors.js";
import type { Host } from "../host/index.js";
import { IP_FORWARDING } from "../host/sysctl.js";
import type { Output } from "../output.js";
import { hashAnchor } from "./anchor-hash.js";
import { applyActions } from "./apply.js";
import { sourcesOf, type DesiredState } from "./desired-state.js";
import { observedAfter, planActions, type Action, type Observed, type WantedAnchor } from "./plan-actions.js";
import { decideRestore } from "./points-fight.js";
import { appliedPfNames, emptyState, parseRecordedInterfaces, reconcileState, writeState, type State } from "./state.js";
import { recoverState } from "./state-recovery.js";
import { wanInterfaces } from "./wan-interfaces.js";

export interface ConvergeResult {
  actions: Action[];
  before: State;
  after: State;
  desired: DesiredState;
  /** Our anchor points were missing from PF's loaded ruleset and were put back. */
  pointsRestored: boolean;
  /** They are missing and were left so: another tool keeps removing them (points-fight.ts). */
  pointsFight: { restores: number; until: number } | null;
  /** What PF and sysctl hold after the run, by what was observed (or known) and what was done. */
  observedAfter: Observed;
}

/** Observe what pfctl and sysctl say now. */
export async function observeHost(host: Host, state: State): Promise<Observed> {
  const [anchorPoints, references, forwarding, labels] = await Promise.all([
    host.pfctl.loadedAnchorPoints(),
    host.pfctl.references(),
    host.sysctl.get(IP_FORWARDING),
    host.pfctl.labels(),
  ]);
  return {
    anchorPoints,
    tokenHeld: state.pfToken !== null && references.has(state.pfToken),
    forwarding,
    labels: new Set(labels.keys()),
  };
}

/** Nothing of LimaWAN's applied: what a dry run without root assumes, since it cannot look. */
const NOTHING_APPLIED: Observed = { anchorPoints: { rdr: true, filter: true }, tokenHeld: false, forwarding: "0", labels: new Set() };

/**
 * The recorded state (a damaged one rebuilt from PF: state-recovery.ts) and what PF says. A dry
 * run by a user cannot read either (both are root's) and never raises privileges itself: it
 * plans against a host where nothing of LimaWAN's is applied, and says so.
 */
async function observeOrAssume(host: Host, out: Output, known: ConvergeRequest["known"]): Promise<{ recorded: State; observed: Observed }> {
  try {
    const recorded = await recoverState(host, out);
    return { recorded, observed: known?.(recorded) ?? (await observeHost(host, recorded)) };
  } catch (error) {
    if (!host.dryRun || !isReason(error, "needs-root")) throw error;
    out.warn(`${error.message}: this dry run assumes nothing of LimaWAN's is applied yet (add --sudo to read PF and the state first)`);
    return { recorded: emptyState(), observed: NOTHING_APPLIED };
  }
}

export interface ConvergeRequest {
  /** What should be forwarded, given the state corrected by PF (desired-state.ts's entry points). */
  desired: (host: Host, state: State) => Promise<DesiredState>;
  /** --interface, overriding the default route's interface. */
  interfaces?: readonly InterfaceName[];
  /** Render with the interfaces recorded at the last load (down: the other VMs' rules stay byte-identical). */
  keepInterfaces?: boolean;
  /**
   * Missing anchor points are put back (into the loaded ruleset and pf.conf) always — a command
   * a user typed — or, for the watcher, unless another tool keeps removing them (a fight).
   */
  restorePoints?: "always" | "unless-fighting";
  /**
   * Told the desired state (diagnostics, notes, skipped VMs) once the state lock is released,
   * whether the run succeeded or failed, so a failure cannot lose them: rendering a bad file's
   * diagnostics takes the user's time, not that of every command waiting for the lock.
   */
  onDesired?: (desired: DesiredState) => void;
  /**
   * What the caller already knows PF and sysctl hold, for this recorded state (the watcher's
   * host model); null or absent: ask them. Saves five process starts on the watcher's path.
   */
  known?: (recorded: State) => Observed | null;
  /** The default route's interface when the caller keeps it (the watcher); absent: `route -n get default`. */
  defaultInterface?: () => Promise<InterfaceName | null>;
  /**
   * Parse-check the anchor with `pfctl -n` before changing anything (default). The watcher
   * loads without it: a load pfctl refuses changes nothing (it parses the whole file before
   * it commits the transaction, PF-FACTS.md §2), and the check is a second process start.
   */
  checkFirst?: boolean;
  /** Emits the anchor (the watcher's memoised emitter). */
  emit?: typeof emitAnchor;
}

export async function converge(host: Host, out: Output, request: ConvergeRequest): Promise<ConvergeResult> {
  let told: DesiredState | null = null;
  try {
    return await host.state.locked(async () => {
      const { recorded, observed } = await observeOrAssume(host, out, request.known);
      const before = reconcileState(recorded, observed);
      const desired = await request.desired(host, before);
      told = desired;

      const specs = desired.vms.map((vm) => vm.spec);
      const recordedInterfaces = request.keepInterfaces ? parseRecordedInterfaces(before.interfaces) : undefined;
      const facts = specs.length > 0 ? await wanInterfaces(host, specs, request.interfaces ?? recordedInterfaces, request.defaultInterface) : null;
      const compiled = facts ? (request.emit ?? emitAnchor)(desired.vms.map((vm) => ({ spec: vm.spec, address: vm.address })), facts) : null;
      if (compiled && !compiled.ok) {
        // The set compile reports PF-name collisions per VM; this is the emitter's own guard.
        throw new CliError(EXIT.FAILURE, "the forwards' PF names collide; nothing was applied", "Rename the forwards the diagnostics name.", undefined, {
          items: compiled.diagnostics,
          sources: sourcesOf(desired),
        });
      }
      const text = compiled?.ok ? compiled.text : ("" as AnchorText);
      const forwards = compiled?.ok ? compiled.forwards : [];
      const wanted: WantedAnchor = {
        text,
        hash: hashAnchor(text),
        labels: new Set(forwards.map((f) => f.label)),
        tables: tablesOf(forwards),
      };
      const installed = { anchorHash: before.anchorHash, tables: tablesOf(appliedPfNames(before)) };
      const planned = planActions(wanted, installed, observed);
      const pointsMissing = planned.some((a) => a.kind === "install-anchor-points");
      const decision = pointsMissing && request.restorePoints === "unless-fighting" ? decideRestore(before.points, Date.now()) : null;
      const actions = decision && !decision.restore ? planned.filter((a) => a.kind !== "install-anchor-points") : planned;

      // The state alone is not enough: it may have been lost while rules stayed loaded.
      const record = await applyActions(host, out, actions, before, before.anchorHash === null && observed.labels.size === 0, request.checkFirst ?? true);
      const after: State = {
        ...before,
        ...record,
        vms: Object.fromEntries(desired.vms.map((vm) => [vm.instance, vm])),
        // Null when nothing of ours is loaded (VMs whose annotations expose nothing included).
        anchorHash: wanted.labels.size > 0 ? wanted.hash : null,
        interfaces: facts ? [...facts.defaultInterfaces] : [],
        heldDown: desired.heldDown,
        points: decision ? decision.history : before.points,
      };
      if (actions.length > 0 || JSON.stringify(after) !== JSON.stringify(recorded)) await writeState(host, after);
      return {
        actions,
        before,
        after,
        desired,
        pointsRestored: actions.some((a) => a.kind === "install-anchor-points"),
        pointsFight: decision && !decision.restore ? decision.fight : null,
        observedAfter: observedAfter(observed, actions, wanted.labels),
      };
    });
  } finally {
    if (told) request.onDesired?.(told);
  }
}
