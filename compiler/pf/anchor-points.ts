// The anchor LimaWAN loads its rules into, and the main-ruleset lines that reach an anchor
// (anchor points): as pf.conf writes them and as pfctl prints them back. The one place these
// strings are built or recognised; the plugin asks here (PF-FACTS.md §2, §4a).

/** LimaWAN's anchor: every VM's rules, loaded whole with one `pfctl -a limawan -f -`. */
export const ANCHOR = "limawan";

/** Apple's wildcard anchor in /etc/pf.conf: our points go right after its points. */
export const APPLE_ANCHOR = "com.apple/*";

/**
 * One anchor-point keyword per ruleset kind: each kind of rule in an anchor is evaluated only
 * through its own kind of point (PF-FACTS.md §2, xnu's PF_RULESET_*). `dummynet-anchor` is Apple's.
 */
export const ANCHOR_KINDS = ["scrub-anchor", "nat-anchor", "rdr-anchor", "binat-anchor", "dummynet-anchor", "anchor"] as const;
export type AnchorKind = (typeof ANCHOR_KINDS)[number];

/** LimaWAN's two points: `rdr-anchor` for its redirections, `anchor` for its filter rules. */
export type OurPointKind = Extract<AnchorKind, "rdr-anchor" | "anchor">;

/** `rdr-anchor "limawan"`: a point as pf.conf writes it (names with `/` must be quoted, PF-FACTS.md §2). */
export function anchorPoint(kind: AnchorKind, anchor: string): string {
  return `${kind} "${anchor}"`;
}

/**
 * `rdr-anchor "limawan" all`: a point as pfctl prints it. print_rule quotes the name and
 * print_fromto prints `all` for a rule that matches everything (docs/PFCTL-OUTPUT.md §d).
 */
export function printedAnchorPoint(kind: AnchorKind, anchor: string): string {
  return `${anchorPoint(kind, anchor)} all`;
}

/** LimaWAN's points as pf.conf writes them: what `install` adds to /etc/pf.conf, and how messages name them. */
export const RDR_POINT = anchorPoint("rdr-anchor", ANCHOR);
export const FILTER_POINT = anchorPoint("anchor", ANCHOR);

/** The anchor a line calls, as pf.conf or pfctl writes it; `rest` is what follows the name (`all`, `on en0 all`, `all fragment reassemble`). */
export interface AnchorCall { kind: AnchorKind; name: string; rest: string }

const CALL = new RegExp(`^(${ANCHOR_KINDS.join("|")})\\s+"([^"]*)"(?:\\s+(.*))?$`);

/** The anchor call of one statement (a pf.conf line without its comment, or a printed rule); null for any other line. */
export function anchorCallOf(line: string): AnchorCall | null {
  const m = CALL.exec(line.trim());
  return m ? { kind: m[1] as AnchorKind, name: m[2]!, rest: (m[3] ?? "").trim().replace(/\s+/g, " ") } : null;
}

/**
 * Whether `line` is the point `KIND "ANCHOR"` for all traffic: as pf.conf writes it or as pfctl
 * prints it (with `all`). A point restricted to some traffic (`rdr-anchor "limawan" on en0 all`)
 * is not: PF would skip the anchor for the rest, so it counts as missing and `up` adds the whole one.
 */
export function isAnchorPoint(line: string, kind: AnchorKind, anchor: string): boolean {
  const call = anchorCallOf(line);
  return call !== null && call.kind === kind && call.name === anchor && (call.rest === "" || call.rest === "all");
}

const REASSEMBLE = " fragment reassemble";

/**
 * The bare form of a printed scrub-anchor point: `scrub-anchor "X" all fragment reassemble` →
 * `scrub-anchor "X" all`. pfctl prints the scrub options back, and `scrub-anchor` is Apple's own
 * addition: nothing read shows its grammar accepting them again (PF-FACTS.md §4a). Reassembly is
 * the flagless default: print_rule (pfctl_parser.c) prints `fragment reassemble` for every scrub
 * rule that has neither `crop` nor `drop-ovl`. Null for any other line.
 */
export function bareAnchorPoint(line: string): string | null {
  const printed = line.trim();
  if (anchorCallOf(printed)?.kind !== "scrub-anchor" || !printed.endsWith(REASSEMBLE)) return null;
  return printed.slice(0, -REASSEMBLE.length);
}
