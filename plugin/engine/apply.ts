// Carry out a plan's actions through the adapters. The anchor text is parse-checked before
// anything changes; when a step fails, the steps already done are undone in reverse, so the
// host is left as it was found (exit 4, "nothing changed").
import type { Host } from "../host/index.js";
import { IP_FORWARDING } from "../host/sysctl.js";
import { CliError, isReason } from "../errors.js";
import type { Output } from "../output.js";
import { installAnchorPoints, undoAnchorPoints } from "./anchor-points.js";
import { describeAction, type Action } from "./plan-actions.js";
import type { State } from "./state.js";

/** The parts of the state that applying actions changes. */
export type HostRecord = Pick<State, "pfToken" | "forwarding" | "pfConf">;

/**
 * `anchorEmpty`: the limawan anchor holds no rules now (pfctl shows none of ours and the state
 * records none). Only then may a failed first load be undone by emptying the anchor.
 */
/**
 * `check`: parse-check the anchor with `pfctl -n` first. Without it (the watcher), a text pfctl
 * refuses still changes nothing — pfctl parses the whole file before it commits (PF-FACTS.md
 * §2) — but the steps before the load (PF enabled, forwarding) are undone after it fails.
 */
export async function applyActions(host: Host, out: Output, actions: readonly Action[], record: HostRecord, anchorEmpty: boolean, check = true): Promise<HostRecord> {
  const load = actions.find((a) => a.kind === "load-anchor");
  if (check && load && load.kind === "load-anchor") {
    try {
      await host.pfctl.checkAnchor(load.text);
    } catch (error) {
      // pfctl -n opens /dev/pf, which is root's: a dry run by a user shows the rules unchecked.
      if (!host.dryRun || !isReason(error, "needs-root")) throw error;
      out.warn(`the rules below were not checked with pfctl -n (${error.message})`);
    }
  }

  let next: HostRecord = { ...record };
  const undo: Array<() => Promise<void>> = [];
  try {
    for (let i = 0; i < actions.length; i++) {
      const action = actions[i]!;
      const following = actions[i + 1];
      out.verbose(`- ${describeAction(action)}`);
      if (action.kind === "enable-pf" && following?.kind === "load-anchor" && anchorEmpty) {
        // Independent of each other (a loaded anchor just waits for PF to be enabled): run
        // them side by side to save a pfctl start on every VM start. Only when the anchor held
        // nothing of ours, so emptying it undoes the load; either failing undoes both.
        out.verbose(`- ${describeAction(following)}`);
        const [enabled, loaded] = await Promise.allSettled([applyOne(host, out, action, next, undo), applyOne(host, out, following, next, undo)]);
        if (loaded.status === "fulfilled") undo.push(() => host.pfctl.flushAnchor());
        if (enabled.status === "rejected") throw enabled.reason;
        if (loaded.status === "rejected") throw loaded.reason;
        next = { ...enabled.value };
        i++;
        continue;
      }
      next = await applyOne(host, out, action, next, undo);
    }
  } catch (error) {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (undoError) {
        out.warn(`could not undo a step: ${(undoError as Error).message}`);
      }
    }
    if (error instanceof CliError) {
      throw new CliError(error.exitCode, `${error.message}; everything done before it was undone`, error.hint, error.detail, error.diagnostics, error.reason);
    }
    throw error;
  }
  return next;
}

async function applyOne(host: Host, out: Output, action: Action, record: HostRecord, undo: Array<() => Promise<void>>): Promise<HostRecord> {
  switch (action.kind) {
    case "install-anchor-points": {
      out.warn("the limawan anchor points are missing from PF's loaded ruleset; restoring them");
      const change = await installAnchorPoints(host, out);
      undo.push(() => undoAnchorPoints(host, out, change));
      return change.pfConf !== null ? { ...record, pfConf: record.pfConf ?? { addedBy: "up", backup: host.pfConf.backup } } : record;
    }
    case "enable-ip-forwarding": {
      await host.sysctl.set(IP_FORWARDING, "1");
      undo.push(() => host.sysctl.set(IP_FORWARDING, action.prior));
      // Remember the first value ever found, so uninstall can put it back.
      return { ...record, forwarding: record.forwarding ?? { prior: action.prior, changedByLimawan: true } };
    }
    case "enable-pf": {
      const token = await host.pfctl.enable();
      undo.push(() => host.pfctl.release(token));
      return { ...record, pfToken: token };
    }
    case "load-anchor":
      await host.pfctl.loadAnchor(action.text);
      return record;
    case "remove-tables":
      // Clean-up after the load succeeded: a failure here must not undo a good load.
      for (const table of action.tables) {
        await host.pfctl.killTable(table).catch((error: Error) => out.warn(`table <${table}> stays: ${error.message}`));
      }
      return record;
    case "flush-anchor":
      await host.pfctl.flushAnchor();
      return record;
    case "release-pf":
      if (record.pfToken) await host.pfctl.release(record.pfToken);
      return { ...record, pfToken: null };
  }
}
