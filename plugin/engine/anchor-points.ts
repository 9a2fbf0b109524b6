// The two anchor points, put in and taken out: in /etc/pf.conf for the next boot (a pure edit,
// checked by pfctl before it replaces the file) and in the main ruleset as it is loaded now
// (compiler/pf/loaded-ruleset-edit.ts): never by loading pf.conf, which would drop the
// references macOS inserted at run time — Internet Sharing's, which carry vmnet's NAT
// (PF-FACTS.md §4a). Every such load also clears the interface skip flags (PF-FACTS.md §4b):
// they are read first and loaded back after.
import { withAnchorPoints, withoutAnchorPoints, type LoadedRuleset, type RulesetChange } from "../../compiler/pf/loaded-ruleset-edit.js";
import { FILTER_POINT, RDR_POINT } from "../../compiler/pf/anchor-points.js";
import { anchorPointsIn, insertAnchorPoints, removeAnchorPoints } from "../../compiler/pf/pf-conf-edit.js";
import type { MainPart } from "../../compiler/pf/rule-sections.js";
import { skipOption } from "../../compiler/pf/skip-option.js";
import { CliError, EXIT } from "../errors.js";
import type { Host } from "../host/index.js";
import type { Output } from "../output.js";

/** What putting the points in changed, to undo it. */
export interface PointsChange {
  /** pf.conf's text before, when it changed. */
  pfConf: string | null;
  /** The loaded parts before, for those that changed. */
  loaded: RulesetChange;
}

/** Whether pf.conf holds both points (null: it cannot be read), as status, doctor and diagnose report it. */
export async function pfConfHoldsPoints(host: Pick<Host, "pfConf">): Promise<boolean | null> {
  const text = await host.pfConf.read().catch(() => null);
  if (text === null) return null;
  const points = anchorPointsIn(text);
  return points.rdr && points.filter;
}

/** Both places get the points; returns what changed (nothing: both had them). */
export async function installAnchorPoints(host: Host, out: Output): Promise<PointsChange> {
  const pfConf = await addToPfConf(host);
  try {
    return { pfConf, loaded: await changeLoaded(host, out, (loaded) => withAnchorPoints(loaded)) };
  } catch (error) {
    if (pfConf !== null) await host.pfConf.replace(pfConf, await host.pfConf.read()).catch(() => undefined);
    throw error;
  }
}

/** Both places lose exactly what LimaWAN put there; returns whether pf.conf changed. */
export async function uninstallAnchorPoints(host: Host, out: Output): Promise<boolean> {
  await changeLoaded(host, out, (loaded) => withoutAnchorPoints(loaded));
  const previous = await host.pfConf.read();
  const result = removeAnchorPoints(previous);
  if (result.unrecognised > 0) {
    out.warn(`${host.pfConf.file} has ${result.unrecognised} limawan marker(s) around edited lines; left as they are — remove them by hand`);
  }
  if (!result.changed) return false;
  await host.pfConf.replace(result.text, previous);
  return true;
}

/** Put back what installAnchorPoints changed (a later step of the same change failed). */
export async function undoAnchorPoints(host: Host, out: Output, change: PointsChange): Promise<void> {
  const parts = (["filter", "translation"] as const).filter((part) => change.loaded[part] !== null);
  if (parts.length > 0) {
    await keepingSkipFlags(host, out, async () => {
      for (const part of parts) await loadPart(host, out, part, change.loaded[part]!);
    });
  }
  if (change.pfConf !== null) await host.pfConf.replace(change.pfConf, await host.pfConf.read());
}

/** pf.conf with the points, for the next boot; its text before, or null when it had them. */
async function addToPfConf(host: Host): Promise<string | null> {
  const previous = await host.pfConf.read();
  const result = insertAnchorPoints(previous);
  if (!result.ok) {
    throw new CliError(EXIT.FAILURE, `cannot add anchor points to ${host.pfConf.file}: ${result.reason}`, `Add \`${RDR_POINT}\` and \`${FILTER_POINT}\` by hand, in the translation and filter sections.`);
  }
  if (!result.changed) return null;
  await host.pfConf.replace(result.text, previous);
  return previous;
}

/**
 * The loaded main ruleset through `edit`, one part at a time (translation, then filter); if
 * the second load fails the first is put back. Returns the parts as they were before.
 */
async function changeLoaded(host: Host, out: Output, edit: (loaded: LoadedRuleset) => RulesetChange): Promise<RulesetChange> {
  const loaded = await host.pfctl.loadedMainRuleset();
  const change = edit(loaded);
  const before: RulesetChange = { translation: null, filter: null };
  if (change.translation === null && change.filter === null) return before;
  await keepingSkipFlags(host, out, async () => {
    if (change.translation !== null) {
      await loadPart(host, out, "translation", change.translation);
      before.translation = loaded.translation;
    }
    if (change.filter !== null) {
      try {
        await loadPart(host, out, "filter", change.filter);
        before.filter = loaded.filter;
      } catch (error) {
        if (before.translation !== null) await loadPart(host, out, "translation", before.translation).catch((e: Error) => out.warn(`could not put the translation rules back: ${e.message}`));
        throw error;
      }
    }
  });
  return before;
}

/**
 * One part loaded, saying in which form: as pfctl printed it, or with the lines pfctl refused
 * so in their bare form (PF-FACTS.md §4a; which one Apple's pfctl takes is unverified).
 */
async function loadPart(host: Host, out: Output, part: MainPart, text: string): Promise<void> {
  const { bared } = await host.pfctl.replaceMainPart(part, text);
  if (bared.length === 0) out.verbose(`loaded the main ruleset's ${part} rules as pfctl printed them`);
  for (const line of bared) out.info(`pfctl refused \`${line.printed}\` as it printed it; loaded it as \`${line.bare}\` (the same rule: reassembling fragments is the default)`);
}

/**
 * Runs `load` (main-ruleset loads), then loads back the interface skip flags found before it:
 * every main-ruleset `pfctl -f` clears them, and a `-N` or `-R` load sets none again
 * (PF-FACTS.md §4b), so a pf.conf's `set skip on lo0` would silently turn filtering and state
 * keeping on for all loopback traffic. Also when `load` fails: a load pfctl refused after
 * parsing, or one of two that went through, has cleared them too.
 */
async function keepingSkipFlags(host: Host, out: Output, load: () => Promise<void>): Promise<void> {
  const skipped = await host.pfctl.skippedInterfaces();
  try {
    await load();
  } catch (error) {
    await loadSkipFlags(host, out, skipped).catch((e: Error) => out.warn(`could not set PF's interface skip flags again (${[...skipped].join(", ")}): ${e.message}`));
    throw error;
  }
  await loadSkipFlags(host, out, skipped);
}

async function loadSkipFlags(host: Host, out: Output, skipped: ReadonlySet<string>): Promise<void> {
  const { option, unusable } = skipOption(skipped);
  if (unusable.length > 0) out.warn(`PF skipped interface(s) ${unusable.map((name) => JSON.stringify(name)).join(", ")}, whose names LimaWAN cannot write back: PF now filters them`);
  if (option === null) return;
  await host.pfctl.loadOptions(option);
  out.verbose(`loaded PF's interface skip flags back (every main-ruleset load clears them): ${option}`);
}
