// What the watch daemon holds of the host between runs, so a VM's start or stop costs one Lima
// query and one anchor load instead of asking pfctl, sysctl and route again each time (issue
// 19). Read in full at start, by the periodic check and once after each burst of loads
// (watcher.ts); kept current in between by what the daemon itself did (observedAfter).
//
// The model holds only while nobody else changed PF through LimaWAN: `up`, `down` or
// `uninstall` from a terminal record another anchor, PF reference or forwarding record in the
// state file, and then the next run looks again. Another tool's changes (a ruleset loaded
// without our anchor points, PF disabled) are what the full looks are for.
import type { InterfaceName } from "../../compiler/ir.js";
import type { Host } from "../host/index.js";
import type { Observed } from "./plan-actions.js";
import type { State } from "./state.js";

/** The parts of the state that change only when PF or sysctl are changed through LimaWAN. */
function recordKey(state: State): string {
  return JSON.stringify([state.anchorHash, state.pfToken, state.forwarding, state.pfConf]);
}

export class HostModel {
  private observed: Observed | null = null;
  private key: string | null = null;
  private route: { found: InterfaceName | null } | null = null;

  /** What PF and sysctl hold, if the state recorded now is the one the last run left; else null (look). */
  observedFor(recorded: State): Observed | null {
    return this.observed && this.key === recordKey(recorded) ? this.observed : null;
  }

  /** The default route's interface, asked once and then kept until forgotten. */
  async defaultInterface(host: Host): Promise<InterfaceName | null> {
    this.route ??= { found: await host.route.defaultInterface() };
    return this.route.found;
  }

  /** After a run: PF and sysctl as the run left them, for the state it recorded. */
  update(observed: Observed, recorded: State): void {
    this.observed = observed;
    this.key = recordKey(recorded);
  }

  /** Look at everything again on the next run (a failed run, a full check). */
  forget(): void {
    this.observed = null;
    this.key = null;
    this.route = null;
  }
}
