// A rule as pfctl prints it (`-s nat`, `-s rules`), read back into the few facts LimaWAN judges
// by: doctor looks for rules of other tools that PF evaluates before LimaWAN's and that take its
// ports; a damaged state is rebuilt from LimaWAN's own pass rules as loaded (parseLoadedPasses).
// pfctl prints rules normalised — `port = 22`, `port 9000:9010`, anchor names quoted
// (docs/PFCTL-OUTPUT.md §d) — so a reading of that one shape is enough. Pure.
import type { PortRange } from "../ir.js";
import { anchorCallOf, type AnchorCall } from "./anchor-points.js";
import { sectionOf, type RuleSection } from "./rule-sections.js";

export interface PrintedRule {
  /** The line as printed, trimmed. */
  text: string;
  section: RuleSection | null;
  /** Its first word (`rdr`, `pass`, `anchor`, `no` …). */
  keyword: string;
  /** The anchor it evaluates, for an anchor point (any kind); null for a rule. */
  anchorCall: AnchorCall | null;
  /** An `rdr` or `binat` that translates (not a `no rdr` exception): translation is first match. */
  redirects: boolean;
  /** `rdr pass`: what it redirects skips the filter rules altogether (pf.conf(5)). */
  passes: boolean;
  /** A `pass` or `block` rule. */
  filters: boolean;
  /** `quick`: the first matching rule of its kind decides. */
  quick: boolean;
  /** The ports it matches (source or destination), never the redirection's target; null: any port. */
  ports: PortRange[] | null;
  /** `label "…"`: the name its counters go by (`-s labels`). */
  label: string | null;
}

/** A pfctl listing's lines without their indentation, blank ones dropped: one statement a line. */
export function listingLines(listing: string): string[] {
  return listing.split("\n").map((line) => line.trim()).filter(Boolean);
}

/** Every rule of a listing (`pfctl -s nat`, `-s rules`, of the main ruleset or an anchor). */
export function readListing(listing: string): PrintedRule[] {
  return listingLines(listing).map(readPrintedRule);
}

export function readPrintedRule(line: string): PrintedRule {
  const text = line.trim();
  // Quoted strings (anchor names, labels, tags) are names, never keywords.
  const words = text.replace(/"[^"]*"/g, '""').split(/\s+/);
  const action = words[0] ?? "";
  const redirects = action === "rdr" || action === "binat";
  return {
    text,
    section: sectionOf(text),
    keyword: action,
    anchorCall: anchorCallOf(text),
    redirects,
    passes: redirects && words[1] === "pass",
    filters: action === "pass" || action === "block",
    quick: words.includes("quick"),
    ports: matchedPorts(text),
    label: /(?:^| )label "([^"]*)"/.exec(text)?.[1] ?? null,
  };
}

/** `port = 22`, `port 22`, `port 9000:9010` before any ` -> `: what the rule matches. */
function matchedPorts(rule: string): PortRange[] | null {
  const arrow = rule.indexOf(" -> ");
  const match = arrow >= 0 ? rule.slice(0, arrow) : rule;
  const ranges: PortRange[] = [];
  for (const m of match.matchAll(/ port (?:= )?(\d+)(?::(\d+))?(?= |$)/g)) ranges.push({ first: Number(m[1]), last: Number(m[2] ?? m[1]) });
  return ranges.length > 0 ? ranges : null;
}

/** A labelled pass rule of our anchor: on which interface, for which protocol, to which address and ports. */
export interface LoadedPass { label: string; interface: string; protocol: string; address: string; ports: { first: number; last: number } }

/**
 * `pfctl -a limawan -s rules`: the labelled `pass in` rules, as print_rule writes the ones the
 * emitter makes — `pass in [log] quick on IF inet proto P from … to ADDR port = N` (or `port
 * N:M`) … `label "L"` (docs/PFCTL-OUTPUT.md §d). Anything else (block rules, another shape) is
 * left out: it is not a forward's.
 */
export function parseLoadedPasses(stdout: string): LoadedPass[] {
  const passes: LoadedPass[] = [];
  for (const line of listingLines(stdout)) {
    const rule = /^pass in (?:log(?: \([^)]*\))? )?quick on (\S+) inet proto (tcp|udp) from \S+ to (\d{1,3}(?:\.\d{1,3}){3}) port (?:= )?(\d+)(?::(\d+))? .*\blabel "([^"]*)"/.exec(line);
    if (!rule) continue;
    const [, iface, protocol, address, first, last, label] = rule;
    passes.push({ label: label!, interface: iface!, protocol: protocol!, address: address!, ports: { first: Number(first), last: Number(last ?? first) } });
  }
  return passes;
}
