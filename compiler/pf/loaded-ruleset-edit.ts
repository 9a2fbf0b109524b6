// Pure edits of PF's main ruleset as it is loaded now (PF-FACTS.md §4a): our two anchor points
// put into, or taken out of, what `pfctl -s nat` and `pfctl -s rules` print. Loading /etc/pf.conf
// instead would drop what macOS inserted at run time — Internet Sharing's references that carry
// vmnet's NAT — and the VMs would lose their internet until the service restarts. Each part is
// then loaded alone (`pfctl -N`: translation rules only; `pfctl -R`: filter rules only), so
// options, tables and dummynet anchors the printout does not show are left as they are.
import { ANCHOR, APPLE_ANCHOR, anchorCallOf, bareAnchorPoint, isAnchorPoint, printedAnchorPoint, type OurPointKind } from "./anchor-points.js";
import { listingLines } from "./printed-rule.js";
import { isInPart, type MainPart } from "./rule-sections.js";

/** The two parts of the loaded main ruleset, as pfctl prints them. */
export interface LoadedRuleset {
  /** `pfctl -s nat`: nat-anchor, rdr-anchor, nat and rdr rules. */
  translation: string;
  /** `pfctl -s rules`: scrub and filter rules, anchors included. */
  filter: string;
}

/** The parts that change: null where the part is as it should be. */
export interface RulesetChange { translation: string | null; filter: string | null }

/** Each part's own point: `rdr-anchor` among the translation rules, `anchor` among the filter rules. */
const POINT_OF: Readonly<Record<MainPart, OurPointKind>> = { translation: "rdr-anchor", filter: "anchor" };

/**
 * Whether each part of a main ruleset as `pfctl -sn`/`-sr` print it refers to `anchor` for all
 * traffic: what status and doctor report and what `up` goes by. `anchor` is LimaWAN's
 * everywhere but the darwin suite, which edits the real kernel's ruleset with an anchor of its own.
 */
export function anchorPointsOf(loaded: LoadedRuleset, anchor = ANCHOR): { rdr: boolean; filter: boolean } {
  return { rdr: holdsPoint(loaded, "translation", anchor), filter: holdsPoint(loaded, "filter", anchor) };
}

function holdsPoint(loaded: LoadedRuleset, part: MainPart, anchor: string): boolean {
  return hasAnchorPoint(loaded[part], POINT_OF[part], anchor);
}

/** Whether a pfctl listing holds the point `KIND "ANCHOR"` for all traffic (isAnchorPoint). */
export function hasAnchorPoint(listing: string, kind: OurPointKind, anchor: string): boolean {
  return listingLines(listing).some((line) => isAnchorPoint(line, kind, anchor));
}

/** Internet Sharing's anchors: macOS calls `com.apple.internet-sharing` and anchors under it. */
const INTERNET_SHARING = "com.apple.internet-sharing";

/**
 * Whether the loaded main ruleset calls Internet Sharing's anchor: macOS inserts those calls
 * while a vmnet shared network runs and takes them out when it stops (PF-FACTS.md §4a). Its VMs
 * reach the Internet through the Mac's NAT then, which needs IP forwarding (§4).
 */
export function internetSharingReferenced(loaded: LoadedRuleset): boolean {
  return listingLines(`${loaded.translation}\n${loaded.filter}`).some((line) => {
    const name = anchorCallOf(line)?.name;
    return name !== undefined && (name === INTERNET_SHARING || name.startsWith(`${INTERNET_SHARING}/`));
  });
}

/**
 * Our points added where pf.conf has them: `rdr-anchor` right after Apple's `rdr-anchor
 * "com.apple/*"` (else after the last translation rule), `anchor` right after Apple's `anchor
 * "com.apple/*"` (else after the last scrub or filter rule). Every other line stays, in its order.
 */
export function withAnchorPoints(loaded: LoadedRuleset, anchor = ANCHOR): RulesetChange {
  const add = (part: MainPart) => (holdsPoint(loaded, part, anchor) ? null : withPoint(listingLines(loaded[part]), part, anchor));
  return { translation: add("translation"), filter: add("filter") };
}

/** Our points taken out; nothing else. */
export function withoutAnchorPoints(loaded: LoadedRuleset, anchor = ANCHOR): RulesetChange {
  const remove = (part: MainPart) => (holdsPoint(loaded, part, anchor) ? text(listingLines(loaded[part]).filter((l) => !isAnchorPoint(l, POINT_OF[part], anchor))) : null);
  return { translation: remove("translation"), filter: remove("filter") };
}

function withPoint(existing: readonly string[], part: MainPart, anchor: string): string {
  const kind = POINT_OF[part];
  let at = existing.findIndex((l) => {
    const call = anchorCallOf(l);
    return call?.kind === kind && call.name === APPLE_ANCHOR;
  });
  if (at < 0) at = findLast(existing, (l) => isInPart(l, part));
  const out = [...existing];
  out.splice(at + 1, 0, printedAnchorPoint(kind, anchor));
  return text(out);
}

/** A line pfctl printed, and the bare form loaded instead. */
export interface BaredLine { printed: string; bare: string }

/**
 * A part as pfctl printed it, with each printed line that has a bare form in that form (a
 * scrub-anchor's `fragment reassemble`): what `up` loads when pfctl refuses the printed text.
 * `bared` lists each line changed, printed and bare; empty when there is none.
 */
export function withBareAnchorPoints(part: string): { text: string; bared: BaredLine[] } {
  const bared: BaredLine[] = [];
  const lines = listingLines(part).map((line) => {
    const bare = bareAnchorPoint(line);
    if (bare === null) return line;
    bared.push({ printed: line, bare });
    return bare;
  });
  return { text: text(lines), bared };
}

function findLast(items: readonly string[], predicate: (item: string) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return i;
  return -1;
}

function text(out: readonly string[]): string {
  return out.length > 0 ? `${out.join("\n")}\n` : "";
}
