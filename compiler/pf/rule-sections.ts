// Which section of a PF ruleset a statement belongs to, by its keyword: the one classifier for
// pf.conf lines and for the rules pfctl prints. pfctl rejects a file whose sections are out of
// order — options, normalization, queueing, translation, filtering (PF-FACTS.md §2, pfctl's
// check_rulestate) — and loads the main ruleset by part: `-N` translation, `-R` normalization and
// filtering, `-O` options (PF-FACTS.md §4b).

/** The sections in the order pfctl requires them. */
export const SECTIONS = ["options", "normalization", "queueing", "translation", "dummynet", "filtering"] as const;
export type RuleSection = (typeof SECTIONS)[number];

const SECTION_OF: Readonly<Record<string, RuleSection>> = {
  set: "options",
  scrub: "normalization",
  "scrub-anchor": "normalization",
  altq: "queueing",
  queue: "queueing",
  nat: "translation",
  rdr: "translation",
  binat: "translation",
  "nat-anchor": "translation",
  "rdr-anchor": "translation",
  "binat-anchor": "translation",
  // Apple's own ruleset kind: its pf.conf puts it between the translation and filter anchor
  // points (PF-FACTS.md §1–2); `pfctl -s nat` and `-s rules` print neither it nor its rules.
  "dummynet-anchor": "dummynet",
  dummynet: "dummynet",
  pass: "filtering",
  block: "filtering",
  anchor: "filtering",
  antispoof: "filtering",
};

/**
 * The section of one statement (a pf.conf line without its comment, or a printed rule); null
 * for what has no place in the order — tables, macros, `load anchor` (pfctl's loadrule makes no
 * order check; Apple puts it last), comments, blank lines and anything unknown.
 */
export function sectionOf(statement: string): RuleSection | null {
  const words = statement.trim().split(/\s+/);
  // `no nat`, `no rdr`, `no binat`: translation exceptions.
  const keyword = words[0] === "no" ? words[1] : words[0];
  const section = keyword === undefined ? undefined : SECTION_OF[keyword];
  if (section === undefined) return null;
  return words[0] === "no" && section !== "translation" ? null : section;
}

/** Whether `statement` is `load anchor … from …`, which pf.conf keeps after every rule. */
export function isLoadAnchor(statement: string): boolean {
  return /^load\s+anchor\b/.test(statement.trim());
}

/** The two parts of the main ruleset pfctl prints and loads apart. */
export type MainPart = "translation" | "filter";

/** The sections each part holds: `-s nat` / `-N` the translation rules, `-s rules` / `-R` the scrub and filter rules. */
export const PART_SECTIONS: Readonly<Record<MainPart, readonly RuleSection[]>> = {
  translation: ["translation"],
  filter: ["normalization", "filtering"],
};

/** Whether a statement belongs among the rules `part` holds. */
export function isInPart(statement: string, part: MainPart): boolean {
  const section = sectionOf(statement);
  return section !== null && PART_SECTIONS[part].includes(section);
}

/** A section's place in pfctl's order (0 first): a statement of a lower rank must come earlier. */
export function sectionRank(section: RuleSection): number {
  return SECTIONS.indexOf(section);
}
