// Carry out a plan's actions through the adapters. The anchor text is parse-checked before
// anything changes; when a step fails, the steps already done are undone in reverse, so the
// host is left as it was found (exit 4, "nothing changed").
import type { Action } from "../compiler/plan.js";
import { describeAction } from "../compiler/plan.js";
import type { Context } from "./context.js";
import { CliError } from "./errors.js";
import { IP_FORWARDING } from "./host/sysctl.js";
import { backupPath, installAnchorPoints, restorePfConf } from "./pf-conf-file.js";
import type { State } from "./state.js";

/** The parts of the state that applying actions changes. */
export type HostRecord = Pick<State, "pfToken" | "forwarding" | "pfConf"> & { readonly anchorHash?: string | null };

/**
 * `anchorEmpty`: the limawan anchor holds no rules now (pfctl shows none of ours and the state
 * records none). Only then may a failed first load be undone by emptying the anchor.
 */
export async function applyActions(ctx: Context, actions: readonly Action[], record: HostRecord, anchorEmpty: boolean): Promise<HostRecord> {
  const load = actions.find((a) => a.kind === "load-anchor");
  if (load && load.kind === "load-anchor") await ctx.pfctl.checkAnchor(load.text);

  let next: HostRecord = { ...record };
  const undo: Array<() => Promise<void>> = [];
  try {
    for (let i = 0; i < actions.length; i++) {
      const action = actions[i]!;
      const following = actions[i + 1];
      ctx.out.verbose(`- ${describeAction(action)}`);
      if (action.kind === "enable-pf" && following?.kind === "load-anchor" && anchorEmpty) {
        // Independent of each other (a loaded anchor just waits for PF to be enabled): run
        // them side by side to save a pfctl start on every VM start. Only when the anchor held
        // nothing of ours, so emptying it undoes the load; either failing undoes both.
        ctx.out.verbose(`- ${describeAction(following)}`);
        const [enabled, loaded] = await Promise.allSettled([applyOne(ctx, action, next, undo), applyOne(ctx, following, next, undo)]);
        if (loaded.status === "fulfilled") undo.push(() => ctx.pfctl.flushAnchor());
        if (enabled.status === "rejected") throw enabled.reason;
        if (loaded.status === "rejected") throw loaded.reason;
        next = { ...enabled.value };
        i++;
        continue;
      }
      next = await applyOne(ctx, action, next, undo);
    }
  } catch (error) {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (undoError) {
        ctx.out.warn(`could not undo a step: ${(undoError as Error).message}`);
      }
    }
    if (error instanceof CliError) {
      throw new CliError(error.exitCode, `${error.message}; everything done before it was undone`, error.hint, error.detail);
    }
    throw error;
  }
  return next;
}

async function applyOne(ctx: Context, action: Action, record: HostRecord, undo: Array<() => Promise<void>>): Promise<HostRecord> {
  switch (action.kind) {
    case "install-anchor-points": {
      ctx.out.warn("the limawan anchor points are missing from PF's loaded ruleset (a macOS update rewrites /etc/pf.conf); restoring them");
      const { changed, previous } = await installAnchorPoints(ctx);
      if (!changed) {
        // pf.conf has the points but the loaded ruleset does not (pf.conf edited, not loaded).
        await ctx.pfctl.loadMainRuleset(ctx.environment.paths.pfConf);
        return record;
      }
      undo.push(() => restorePfConf(ctx, previous));
      return { ...record, pfConf: record.pfConf ?? { addedBy: "up", backup: backupPath(ctx) } };
    }
    case "enable-ip-forwarding": {
      await ctx.sysctl.set(IP_FORWARDING, "1");
      undo.push(() => ctx.sysctl.set(IP_FORWARDING, action.prior));
      // Remember the first value ever found, so uninstall can put it back.
      return { ...record, forwarding: record.forwarding ?? { prior: action.prior, changedByLimawan: true } };
    }
    case "enable-pf": {
      const token = await ctx.pfctl.enable();
      undo.push(() => ctx.pfctl.release(token));
      return { ...record, pfToken: token };
    }
    case "load-anchor":
      await ctx.pfctl.loadAnchor(action.text);
      return record;
    case "remove-tables":
      // Clean-up after the load succeeded: a failure here must not undo a good load.
      for (const table of action.tables) {
        await ctx.pfctl.killTable(table).catch((error: Error) => ctx.out.warn(`table <${table}> stays: ${error.message}`));
      }
      return record;
    case "flush-anchor":
      await ctx.pfctl.flushAnchor();
      return record;
    case "release-pf":
      if (record.pfToken) await ctx.pfctl.release(record.pfToken);
      return { ...record, pfToken: null };
  }
}
