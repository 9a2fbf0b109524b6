// planActions(wanted, installed, observed) → actions. Pure: the same planner serves every command
// that changes the host and the watcher; apply.ts carries the actions out through the adapters.
//
// Applying the actions and observing again gives an empty plan (property-tested), which is
// what makes `up` twice change nothing the second time.
import type { AnchorText } from "../../compiler/emit-pf.js";

export interface Observed {
  /** Our anchor points in the loaded main ruleset. */
  anchorPoints: { rdr: boolean; filter: boolean };
  /** Our PF enable reference is still registered (lost at reboot). */
  tokenHeld: boolean;
  /** net.inet.ip.forwarding now. */
  forwarding: string;
  /** Labels of the rules loaded in the anchor now. */
  labels: ReadonlySet<string>;
}

export interface Installed {
  /** Hash of the anchor text LimaWAN last loaded, null when it holds nothing of ours. */
  anchorHash: string | null;
  /** Tables of the forwards last loaded (ban and allow-list tables). */
  tables: readonly string[];
}

export interface WantedAnchor {
  text: AnchorText;
  hash: string;
  labels: ReadonlySet<string>;
  tables: readonly string[];
}

export type Action =
  | { kind: "install-anchor-points" }
  | { kind: "enable-ip-forwarding"; prior: string }
  | { kind: "enable-pf" }
  | { kind: "load-anchor"; text: AnchorText; hash: string }
  | { kind: "remove-tables"; tables: string[] }
  | { kind: "flush-anchor" }
  | { kind: "release-pf" };

export function planActions(desired: WantedAnchor, installed: Installed, observed: Observed): Action[] {
  const actions: Action[] = [];
  if (desired.labels.size === 0) {
    // Nothing wanted: empty our anchor (rules and tables) and give back our PF reference.
    if (observed.labels.size > 0 || installed.anchorHash !== null || installed.tables.length > 0) actions.push({ kind: "flush-anchor" });
    if (observed.tokenHeld) actions.push({ kind: "release-pf" });
    return actions;
  }
  // Order matters: the anchor points and forwarding must exist before the rules can work,
  // and PF must be enabled for them to be evaluated at all.
  if (!observed.anchorPoints.rdr || !observed.anchorPoints.filter) actions.push({ kind: "install-anchor-points" });
  if (observed.forwarding !== "1") actions.push({ kind: "enable-ip-forwarding", prior: observed.forwarding });
  if (!observed.tokenHeld) actions.push({ kind: "enable-pf" });
  const loaded = installed.anchorHash === desired.hash && sameSet(observed.labels, desired.labels);
  if (!loaded) actions.push({ kind: "load-anchor", text: desired.text, hash: desired.hash });
  const gone = installed.tables.filter((t) => !desired.tables.includes(t));
  if (gone.length > 0) actions.push({ kind: "remove-tables", tables: gone });
  return actions;
}

/**
 * What PF and sysctl hold once the actions are carried out, from what they held before: the
 * watcher's host model between runs (planning again against it gives no actions). Pure.
 */
export function observedAfter(observed: Observed, actions: readonly Action[], loadedLabels: ReadonlySet<string>): Observed {
  let next: Observed = observed;
  for (const action of actions) {
    switch (action.kind) {
      case "install-anchor-points":
        next = { ...next, anchorPoints: { rdr: true, filter: true } };
        break;
      case "enable-ip-forwarding":
        next = { ...next, forwarding: "1" };
        break;
      case "enable-pf":
        next = { ...next, tokenHeld: true };
        break;
      case "release-pf":
        next = { ...next, tokenHeld: false };
        break;
      case "load-anchor":
        next = { ...next, labels: new Set(loadedLabels) };
        break;
      case "flush-anchor":
        next = { ...next, labels: new Set() };
        break;
      case "remove-tables":
        break;
    }
  }
  return next;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const item of a) if (!b.has(item)) return false;
  return true;
}

export function describeAction(action: Action): string {
  switch (action.kind) {
    case "install-anchor-points":
      return "add the limawan anchor points to pf.conf and load it";
    case "enable-ip-forwarding":
      return `turn on IP forwarding (net.inet.ip.forwarding ${action.prior} -> 1)`;
    case "enable-pf":
      return "enable PF with a LimaWAN reference (pfctl -E)";
    case "load-anchor":
      return "load the limawan anchor";
    case "remove-tables":
      return `remove tables no longer used: ${action.tables.join(", ")}`;
    case "flush-anchor":
      return "empty the limawan anchor";
    case "release-pf":
      return "release LimaWAN's PF reference (pfctl -X)";
  }
}
