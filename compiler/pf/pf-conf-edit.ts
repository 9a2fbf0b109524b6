// Pure edits of /etc/pf.conf: insert and remove LimaWAN's two named anchor points.
//
// PF-FACTS.md §2: translation anchor points must sit with the translation rules and filter
// anchor points with the filter rules, or pfctl rejects the whole file ("Rules must be in
// order") and the Mac boots without PF rules. So `rdr-anchor "limawan"` goes right after
// Apple's `rdr-anchor "com.apple/*"` and `anchor "limawan"` right after `anchor "com.apple/*"`.
// Each insertion is wrapped in marker comments so removal takes out exactly what we added.
import { ANCHOR, APPLE_ANCHOR, FILTER_POINT, isAnchorPoint, RDR_POINT, type OurPointKind } from "./anchor-points.js";
import { isLoadAnchor, sectionOf, sectionRank, type RuleSection } from "./rule-sections.js";

export const BEGIN_MARKER = "# limawan: begin (added by limactl-limawan; `limactl limawan uninstall` removes it)";
export const END_MARKER = "# limawan: end";

export interface AnchorPoints { rdr: boolean; filter: boolean }

/** A pf.conf line without its comment. */
const statement = (line: string) => line.replace(/#.*/, "").trim();

/** Which of our anchor points a pf.conf text holds (outside comments). */
export function anchorPointsIn(text: string): AnchorPoints {
  const statements = text.split("\n").map(statement);
  const holds = (kind: OurPointKind) => statements.some((s) => isAnchorPoint(s, kind, ANCHOR));
  return { rdr: holds("rdr-anchor"), filter: holds("anchor") };
}

export type InsertResult = { ok: true; text: string; changed: boolean } | { ok: false; reason: string };

export function insertAnchorPoints(text: string): InsertResult {
  const present = anchorPointsIn(text);
  if (present.rdr && present.filter) return { ok: true, text, changed: false };
  const lines = text.split("\n");
  if (!present.rdr) {
    const at = rdrInsertionIndex(lines);
    lines.splice(at, 0, BEGIN_MARKER, RDR_POINT, END_MARKER);
  }
  if (!present.filter) {
    const at = filterInsertionIndex(lines);
    if (at < 0) return { ok: false, reason: "no place for a filter anchor point after the translation rules" };
    lines.splice(at, 0, BEGIN_MARKER, FILTER_POINT, END_MARKER);
  }
  return { ok: true, text: lines.join("\n"), changed: true };
}

/**
 * Remove exactly the blocks we inserted — begin marker, one anchor point, end marker — and
 * nothing else. A marker in any other shape (someone edited around it) is left alone and
 * counted in `unrecognised`, so the caller can say so: pairing a begin marker with some later
 * end marker could take Apple's own lines with it.
 */
export function removeAnchorPoints(text: string): { text: string; changed: boolean; unrecognised: number } {
  const lines = text.split("\n");
  const out: string[] = [];
  let unrecognised = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === BEGIN_MARKER) {
      if ((lines[i + 1] === RDR_POINT || lines[i + 1] === FILTER_POINT) && lines[i + 2] === END_MARKER) {
        i += 2;
        continue;
      }
      unrecognised++;
    }
    out.push(lines[i]!);
  }
  return { text: out.join("\n"), changed: out.length !== lines.length, unrecognised };
}

function rdrInsertionIndex(lines: readonly string[]): number {
  const apple = lines.findIndex((l) => isAnchorPoint(statement(l), "rdr-anchor", APPLE_ANCHOR));
  if (apple >= 0) return apple + 1;
  const lastTranslation = findLastIndex(lines, (l) => sectionOf(statement(l)) === "translation");
  if (lastTranslation >= 0) return lastTranslation + 1;
  const firstLater = lines.findIndex((l) => comesAfter(statement(l), "translation") || isLoadAnchor(l));
  return firstLater >= 0 ? firstLater : endIndex(lines);
}

function filterInsertionIndex(lines: readonly string[]): number {
  const apple = lines.findIndex((l) => isAnchorPoint(statement(l), "anchor", APPLE_ANCHOR));
  if (apple >= 0) return apple + 1;
  const lastFilter = findLastIndex(lines, (l) => sectionOf(statement(l)) === "filtering");
  if (lastFilter >= 0) return lastFilter + 1;
  const firstLoad = lines.findIndex((l) => isLoadAnchor(l));
  return firstLoad >= 0 ? firstLoad : endIndex(lines);
}

/** A statement of a section pfctl wants after `section`'s. */
function comesAfter(s: string, section: RuleSection): boolean {
  const own = sectionOf(s);
  return own !== null && sectionRank(own) > sectionRank(section);
}

/** Before a final empty string (the text ended with a newline), so the file keeps its ending. */
function endIndex(lines: readonly string[]): number {
  return lines.length > 0 && lines[lines.length - 1] === "" ? lines.length - 1 : lines.length;
}

function findLastIndex<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return i;
  return -1;
}
