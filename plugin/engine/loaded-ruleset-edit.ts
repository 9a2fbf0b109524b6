// Pure edits of PF's main ruleset as it is loaded now (PF-FACTS.md §4a): our two anchor points
// put into, or taken out of, what `pfctl -s nat` and `pfctl -s rules` print. Loading /etc/pf.conf
// instead would drop what macOS inserted at run time — Internet Sharing's references that carry
// vmnet's NAT — and the VMs would lose their internet until the service restarts. Each part is
// then loaded alone (`pfctl -N`: translation rules only; `pfctl -R`: filter rules only), so
// options, tables and dummynet anchors the printout does not show are left as they are.
import { anchorPointLine, anchorPointsOf, printedLines } from "../host/pfctl.js";
import { ANCHOR_NAME } from "./pf-conf-edit.js";

/** The two parts of the loaded main ruleset, as pfctl prints them. */
export interface LoadedRuleset {
  /** `pfctl -s nat`: nat-anchor, rdr-anchor, nat and rdr rules. */
  translation: string;
  /** `pfctl -s rules`: scrub and filter rules, anchors included. */
  filter: string;
}

/** What pfctl prints for an anchor point (anchor rules are printed with `all`). */
const rdrPoint = (anchor: string) => `rdr-anchor "${anchor}" all`;
const filterPoint = (anchor: string) => `anchor "${anchor}" all`;

/** The parts that change: null where the part is as it should be. */
export interface RulesetChange { translation: string | null; filter: string | null }

// `anchor` is LimaWAN's everywhere but the darwin suite, which edits the real kernel's
// ruleset with an anchor of its own. Whether the points are there: anchorPointsOf, which the
// pfctl adapter reports too.

/**
 * Our points added where pf.conf has them: `rdr-anchor` right after Apple's `rdr-anchor
 * "com.apple/*"` (else after the last translation rule), `anchor` right after Apple's `anchor
 * "com.apple/*"` (else at the end). Every other line stays, in its order.
 */
export function withAnchorPoints(loaded: LoadedRuleset, anchor = ANCHOR_NAME): RulesetChange {
  const present = anchorPointsOf(loaded, anchor);
  return {
    translation: present.rdr ? null : insertAfter(printedLines(loaded.translation), /^rdr-anchor "com\.apple\/\*"/, /^(no )?(nat|rdr|binat)(-anchor)? /, rdrPoint(anchor)),
    filter: present.filter ? null : insertAfter(printedLines(loaded.filter), /^anchor "com\.apple\/\*"/, /^(pass|block|anchor|antispoof|scrub|scrub-anchor)\b/, filterPoint(anchor)),
  };
}

/** Our points taken out; nothing else. */
export function withoutAnchorPoints(loaded: LoadedRuleset, anchor = ANCHOR_NAME): RulesetChange {
  const present = anchorPointsOf(loaded, anchor);
  const rdr = anchorPointLine("rdr-anchor", anchor);
  const filter = anchorPointLine("anchor", anchor);
  return {
    translation: present.rdr ? text(printedLines(loaded.translation).filter((l) => !rdr.test(l))) : null,
    filter: present.filter ? text(printedLines(loaded.filter).filter((l) => !filter.test(l))) : null,
  };
}

function insertAfter(existing: string[], apple: RegExp, sameKind: RegExp, point: string): string {
  let at = existing.findIndex((l) => apple.test(l));
  if (at < 0) at = findLast(existing, (l) => sameKind.test(l));
  const out = [...existing];
  out.splice(at + 1, 0, point);
  return text(out);
}

function findLast(items: readonly string[], predicate: (item: string) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return i;
  return -1;
}

function text(out: readonly string[]): string {
  return out.length > 0 ? `${out.join("\n")}\n` : "";
}
