// pfctl adapter: every pfctl call LimaWAN makes, and the parsing of its output, in one place.
// DESIGN.md "Host model": one `limawan` anchor, checked with -n then loaded whole with one
// `-a limawan -f -` per change; PF enabled by reference (-E/-X), never -d; the main ruleset
// loaded only when the anchor points must be (re)installed.
// The parsers below are pure and exported: test/host/pfctl-formats.test.ts runs them on macOS
// pfctl's own output (test/fixtures/macos/), which the darwin suite records on a real Mac.
import { ANCHOR } from "../../compiler/pf/anchor-points.js";
import { anchorPointsOf, withBareAnchorPoints, type BaredLine, type LoadedRuleset } from "../../compiler/pf/loaded-ruleset-edit.js";
import { listingLines, parseLoadedPasses, readPrintedRule, type LoadedPass } from "../../compiler/pf/printed-rule.js";
import type { MainPart } from "../../compiler/pf/rule-sections.js";
import { CliError, EXIT } from "../errors.js";
import type { CommandResult, Runner } from "./run.js";

/**
 * Printed by macOS pfctl, and harmless (PF-FACTS.md §3, §8.5): the ALTQ notice by every call
 * but -n, the -f warning by every -f, broken after "rules" (docs/PFCTL-OUTPUT.md §h).
 */
const NOISE = [
  /^No ALTQ support in kernel$/,
  /^ALTQ related functions disabled$/,
  /^pfctl: Use of -f option, could result in flushing of rules( present in the main ruleset added by the system at startup\.)?$/,
  /^present in the main ruleset added by the system at startup\.$/,
  /^See \/etc\/pf\.conf for further details\.$/,
];

export function withoutNoise(stderr: string): string {
  return stderr
    .split("\n")
    .filter((line) => line.trim() !== "" && !NOISE.some((re) => re.test(line.trim())))
    .join("\n");
}

/**
 * The most a listing of PF's own tables may print: states and ban tables grow with WAN traffic
 * (a state is a line of ~100 bytes, and an overload table fills with every offending source),
 * not with anything a guest prints, so the 1 MiB of other programs would be too little.
 */
export const PF_LISTING_LIMIT = 64 * 1024 * 1024;

/** `states` is null where pfctl prints no states column: macOS never does (parseLabels). */
export interface LabelCounters { evaluations: number; packets: number; bytes: number; states: number | null }

export class Pfctl {
  /**
   * `anchor`: the anchor every call works on. LimaWAN's is `limawan`; the darwin suite passes
   * its own (`limawan-test-PID`) so it never touches a user's forwards.
   */
  constructor(
    private readonly runner: Runner,
    readonly anchor: string = ANCHOR,
  ) {}

  /** A listing (rules, labels, tables, states), read up to PF_LISTING_LIMIT. */
  private list(args: string[]): Promise<CommandResult> {
    return this.runner.run("pfctl", args, { outputLimit: PF_LISTING_LIMIT });
  }

  /** `pfctl -n`: parse only. Throws with pfctl's own message when it rejects the text. */
  async checkAnchor(text: string): Promise<void> {
    this.expectOk(await this.runner.run("pfctl", ["-n", "-a", this.anchor, "-f", "-"], { input: text }), "pfctl rejected the generated rules; nothing was changed");
  }

  /** Replace the whole anchor atomically; states survive (PF-FACTS.md §2). */
  async loadAnchor(text: string): Promise<void> {
    this.expectOk(await this.runner.change("pfctl", ["-a", this.anchor, "-f", "-"], { input: text }), "pfctl could not load the rules");
  }

  /** Rules, nat and tables of our anchor only — never the main ruleset's (no -a would flush everything). */
  async flushAnchor(): Promise<void> {
    this.expectOk(await this.runner.change("pfctl", ["-a", this.anchor, "-F", "all"]), "pfctl could not flush the limawan anchor");
  }

  async killTable(table: string): Promise<void> {
    const result = await this.runner.change("pfctl", ["-a", this.anchor, "-t", table, "-T", "kill"]);
    // A table already gone is what we wanted.
    if (result.exitCode !== 0 && !isMissingTable(result.stderr)) this.expectOk(result, `pfctl could not remove table <${table}>`);
  }

  async checkMainRuleset(file: string): Promise<void> {
    this.expectOk(await this.runner.run("pfctl", ["-n", "-f", file]), `pfctl rejects ${file}; it was not installed`);
  }

  /** Enable PF with a reference; returns the token to release later. */
  async enable(): Promise<string> {
    const result = await this.runner.change("pfctl", ["-E"]);
    if (this.runner.dryRun) return "(dry-run)";
    this.expectOk(result, "pfctl could not enable PF");
    const token = parseEnableToken(result);
    if (!token) throw new CliError(EXIT.HOST_COMMAND, "pfctl -E printed no token", undefined, withoutNoise(result.stderr));
    return token;
  }

  async release(token: string): Promise<void> {
    const result = await this.runner.change("pfctl", ["-X", token]);
    // A token PF no longer knows (or PF stopped since, e.g. a reboot): nothing of ours to release.
    if (releaseOutcome(result) === "failed") this.expectOk(result, "pfctl could not release PF");
  }

  /** Tokens currently holding PF enabled (`pfctl -s References`). */
  async references(): Promise<Set<string>> {
    const result = await this.runner.run("pfctl", ["-s", "References"]);
    this.expectOk(result, "pfctl could not list PF references");
    return new Set(parseReferences(result.stdout).map((r) => r.token));
  }

  async enabled(): Promise<boolean> {
    const result = await this.runner.run("pfctl", ["-s", "info"]);
    this.expectOk(result, "pfctl could not read PF status");
    return /^Status:\s*Enabled/m.test(result.stdout);
  }

  /** Are our anchor's two points (rdr-anchor and anchor) in the loaded main ruleset? */
  async loadedAnchorPoints(): Promise<{ rdr: boolean; filter: boolean }> {
    return this.anchorPointsIn(await this.loadedMainRuleset());
  }

  /** Whether a main ruleset as loadedMainRuleset reads it refers to our anchor, in each part. */
  anchorPointsIn(loaded: LoadedRuleset): { rdr: boolean; filter: boolean } {
    return anchorPointsOf(loaded, this.anchor);
  }

  /** The main ruleset as loaded now: `-s nat` (translation) and `-s rules` (scrub and filter). */
  async loadedMainRuleset(): Promise<LoadedRuleset> {
    const [nat, rules] = await Promise.all([this.list(["-sn"]), this.list(["-sr"])]);
    this.expectOk(nat, "pfctl could not list translation rules");
    this.expectOk(rules, "pfctl could not list filter rules");
    return { translation: nat.stdout, filter: rules.stdout };
  }

  /**
   * Replace one part of the loaded main ruleset: `-N` the translation rules, `-R` the scrub
   * and filter rules; everything else (options, tables, dummynet, the other part) stays — but
   * not the interface skip flags, which every main-ruleset load clears (PF-FACTS.md §4b): the
   * caller loads them back (loadOptions). Parse-checked with `-n` first, so a text pfctl
   * refuses changes nothing. The text is pfctl's own listing, and pfctl may refuse a line as it
   * printed it (a scrub-anchor's `fragment reassemble`, PF-FACTS.md §4a): then the text is
   * checked again with those lines in their bare form, and loaded so. `bared` says which.
   */
  async replaceMainPart(part: MainPart, text: string): Promise<{ bared: BaredLine[] }> {
    const only = part === "translation" ? "-N" : "-R";
    const check = (input: string) => this.runner.run("pfctl", ["-n", only, "-f", "-"], { input });
    let load: { text: string; bared: BaredLine[] } = { text, bared: [] };
    const printed = await check(text);
    if (printed.exitCode !== 0) {
      const bare = withBareAnchorPoints(text);
      // Both refused (or nothing to make bare): pfctl's answer to the text as printed.
      if (bare.bared.length === 0 || (await check(bare.text)).exitCode !== 0) {
        this.expectOk(printed, `pfctl rejects the main ruleset's ${part} rules with LimaWAN's anchor point; nothing was changed`);
      }
      load = bare;
    }
    this.expectOk(await this.runner.change("pfctl", [only, "-f", "-"], { input: load.text }), `pfctl could not load the main ruleset's ${part} rules`);
    return { bared: load.bared };
  }

  /**
   * Load `options` (pf.conf `set` lines) and nothing else (`-O`), merged into the options loaded
   * now (`-m`): without -m an options load also sets every limit, timeout, debug level and host
   * id it does not name back to its default (pfctl.c pfctl_load_options). Checked with -n first:
   * the load clears the interface skip flags before it parses (pfctl.c main()).
   */
  async loadOptions(options: string): Promise<void> {
    const input = `${options.trimEnd()}\n`;
    this.expectOk(await this.runner.run("pfctl", ["-n", "-m", "-O", "-f", "-"], { input }), "pfctl rejects the options LimaWAN would load back; nothing was changed");
    this.expectOk(await this.runner.change("pfctl", ["-m", "-O", "-f", "-"], { input }), "pfctl could not load the options back");
  }

  /** Per-label counters of our anchor's filter rules (`pfctl -a limawan -s labels`). */
  async labels(): Promise<Map<string, LabelCounters>> {
    const result = await this.list(["-a", this.anchor, "-s", "labels"]);
    // Before install (or after uninstall) nothing refers to the anchor: there are no rules.
    if (isMissingAnchor(result.stderr)) return new Map();
    this.expectOk(result, "pfctl could not read rule counters");
    return parseLabels(result.stdout);
  }

  /**
   * Counters per label with the states each forward holds, from the rules' own counters
   * (`-v -s rules`): macOS's `-s labels` has no states column, and one read is one process.
   * For `status` and `monitor`; converge needs only labels().
   */
  async counters(): Promise<Map<string, LabelCounters>> {
    const result = await this.list(["-a", this.anchor, "-v", "-s", "rules"]);
    if (isMissingAnchor(result.stderr)) return new Map();
    this.expectOk(result, "pfctl could not read rule counters");
    return parseRuleCounters(result.stdout);
  }

  /** Our anchor's pass rules, what each sends where (a damaged state is rebuilt from them: engine/state-recovery.ts). */
  async loadedPasses(): Promise<LoadedPass[]> {
    const result = await this.runner.run("pfctl", ["-a", this.anchor, "-s", "rules"]);
    if (result.exitCode !== 0 && isMissingAnchor(result.stderr)) return [];
    this.expectOk(result, "pfctl could not list the limawan anchor's rules");
    return parseLoadedPasses(result.stdout);
  }

  async tableEntries(table: string): Promise<string[]> {
    const result = await this.list(["-a", this.anchor, "-t", table, "-T", "show"]);
    if (result.exitCode !== 0) return [];
    return parseTableEntries(result.stdout);
  }

  /** Interfaces `set skip on` leaves out of filtering and translation: rules there never fire. `-v` prints ` (skip)` after those (pfctl's print_iface). */
  async skippedInterfaces(): Promise<Set<string>> {
    const result = await this.runner.run("pfctl", ["-s", "Interfaces", "-v"]);
    this.expectOk(result, "pfctl could not list interfaces");
    return new Set(result.stdout.split("\n").filter((l) => /\(skip\)\s*$/.test(l)).map((l) => l.trim().split(/\s+/)[0]!));
  }

  /** Every anchor under `name`, recursively (`-a NAME -s Anchors -v`: "  path" a line). */
  async anchorsUnder(name: string): Promise<string[]> {
    const result = await this.list(["-a", name, "-s", "Anchors", "-v"]);
    if (isMissingAnchor(result.stderr)) return [];
    this.expectOk(result, `pfctl could not list the anchors under ${name}`);
    return printedLines(result.stdout);
  }

  /** Another anchor's rules (`-a NAME -sn`, `-sr`); empty for one the kernel does not have. */
  async anchorRules(name: string): Promise<{ translation: string; filter: string }> {
    const read = async (show: string) => {
      const result = await this.list(["-a", name, "-s", show]);
      if (isMissingAnchor(result.stderr)) return "";
      this.expectOk(result, `pfctl could not list the rules of anchor ${name}`);
      return result.stdout;
    };
    const [translation, filter] = await Promise.all([read("nat"), read("rules")]);
    return { translation, filter };
  }

  /** A table's addresses with when each was last cleared — for a ban table, when it was banned. */
  async tableEntriesSince(table: string): Promise<TableEntry[]> {
    const result = await this.list(["-a", this.anchor, "-t", table, "-T", "show", "-v"]);
    if (result.exitCode !== 0 && isMissingTable(result.stderr)) return [];
    this.expectOk(result, `pfctl could not list table <${table}>`);
    return parseVerboseTableEntries(result.stdout);
  }

  /** Every state PF keeps (`pfctl -s state`); states belong to no anchor. */
  async states(): Promise<PfState[]> {
    const result = await this.list(["-s", "state"]);
    this.expectOk(result, "pfctl could not list states");
    return parseStates(result.stdout);
  }

  /** Lift a ban: the address out of the table (`-T delete`); false when it was not in it. */
  async deleteFromTable(table: string, address: string): Promise<boolean> {
    const result = await this.runner.change("pfctl", ["-a", this.anchor, "-t", table, "-T", "delete", address]);
    if (result.exitCode !== 0 && isMissingTable(result.stderr)) return false;
    this.expectOk(result, `pfctl could not delete ${address} from <${table}>`);
    return this.runner.dryRun || /^1\/1 addresses deleted/m.test(result.stderr);
  }

  /** Addresses cleared more than `seconds` ago leave the table (`-T expire`); how many did. */
  async expireTable(table: string, seconds: number): Promise<number> {
    const result = await this.runner.change("pfctl", ["-a", this.anchor, "-t", table, "-T", "expire", String(seconds)]);
    if (result.exitCode !== 0 && isMissingTable(result.stderr)) return 0;
    this.expectOk(result, `pfctl could not expire entries of <${table}>`);
    return Number(/^(\d+)\/\d+ addresses expired/m.exec(result.stderr)?.[1] ?? 0);
  }

  private expectOk(result: CommandResult, message: string): void {
    if (result.exitCode === 0) return;
    const detail = withoutNoise(result.stderr);
    if (/Permission denied|Operation not permitted/.test(detail)) {
      throw new CliError(EXIT.ENVIRONMENT, "pfctl needs root", "Add --sudo: LimaWAN then asks sudo itself.", detail, null, "needs-root");
    }
    throw new CliError(EXIT.HOST_COMMAND, message, undefined, detail || `pfctl exited with ${result.exitCode}`);
  }
}

/**
 * `pfctl -s labels`: `LABEL evaluations packets bytes in_packets in_bytes out_packets out_bytes`.
 * macOS prints these 7 numbers (its pfctl prints labels of scrub and filter rules only);
 * FreeBSD adds an 8th, the states, which is read when present (docs/PFCTL-OUTPUT.md §a).
 * The same label on several rules (one per interface and protocol) is summed.
 */
export function parseLabels(stdout: string): Map<string, LabelCounters> {
  const labels = new Map<string, LabelCounters>();
  for (const line of stdout.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8 || fields.length > 9 || !fields.slice(1).every((f) => /^\d+$/.test(f))) continue;
    const [label, evaluations, packets, bytes] = fields;
    const states = fields.length === 9 ? Number(fields[8]) : null;
    const sum = labels.get(label!) ?? { evaluations: 0, packets: 0, bytes: 0, states: null };
    labels.set(label!, {
      evaluations: sum.evaluations + Number(evaluations),
      packets: sum.packets + Number(packets),
      bytes: sum.bytes + Number(bytes),
      states: states === null ? sum.states : (sum.states ?? 0) + states,
    });
  }
  return labels;
}

/**
 * `pfctl -v -s rules`: each rule, then `  [ Evaluations: N  Packets: N  Bytes: N  States: N ]`
 * (and on macOS `  [ Inserted: uid N pid N ]`). The counters of the rules that share a label
 * (one per interface and protocol) are summed, as parseLabels sums `-s labels` lines
 * (docs/PFCTL-OUTPUT.md §d; the darwin suite checks that the two agree).
 */
export function parseRuleCounters(stdout: string): Map<string, LabelCounters> {
  const counters = new Map<string, LabelCounters>();
  let label: string | null = null;
  for (const line of stdout.split("\n")) {
    if (!/^\s/.test(line)) {
      label = readPrintedRule(line).label;
      continue;
    }
    const counted = /^\s+\[\s*Evaluations:\s*(\d+)\s+Packets:\s*(\d+)\s+Bytes:\s*(\d+)\s+States:\s*(\d+)\s*\]/.exec(line);
    if (!counted || label === null) continue;
    const sum = counters.get(label) ?? { evaluations: 0, packets: 0, bytes: 0, states: 0 };
    const [evaluations, packets, bytes, states] = counted.slice(1).map(Number) as [number, number, number, number];
    counters.set(label, { evaluations: sum.evaluations + evaluations, packets: sum.packets + packets, bytes: sum.bytes + bytes, states: (sum.states ?? 0) + states });
  }
  return counters;
}

/** One holder of a PF enable reference, as `pfctl -s References` lists it. */
export interface PfReference { pid: number; process: string; token: string; age: string }

/**
 * `pfctl -s References` (Apple only): `TOKENS:`, a header, then one row per reference,
 * `%-8d %-28s %-24llu %s` — PID, process name (may hold spaces), token, age (`N days HH:MM:SS`);
 * `No pf starter references held` when there is none. Tokens are 64-bit (a kernel address
 * hash) and often pass 2^53, so they stay strings (docs/PFCTL-OUTPUT.md §b; PF-FACTS.md §3).
 * Only the row's printf is not in the decompiled pfctl: the age is read loosely, the token as
 * the first number of six digits or more after the name (PIDs stay below 100000 on macOS).
 */
export function parseReferences(stdout: string): PfReference[] {
  const references: PfReference[] = [];
  for (const line of stdout.split("\n")) {
    const row = /^\s*(\d+)\s+(.+?)\s+(\d{6,})(?:\s+(.*?))?\s*$/.exec(line);
    if (row) references.push({ pid: Number(row[1]), process: row[2]!, token: row[3]!, age: row[4] ?? "" });
  }
  return references;
}

/** `pfctl -E` prints `pf enabled` and `Token : N` on stderr (stdout accepted too). */
export function parseEnableToken(result: Pick<CommandResult, "stdout" | "stderr">): string | null {
  return /^Token\s*:\s*(\d+)\s*$/m.exec(`${result.stderr}\n${result.stdout}`)?.[1] ?? null;
}

/**
 * What `pfctl -X TOKEN` did. The kernel answers EINVAL for a token it does not hold and
 * ENOENT when PF is not running; pfctl then exits 1 (docs/PFCTL-OUTPUT.md §c).
 */
export function releaseOutcome(result: CommandResult): "released" | "unknown-token" | "not-enabled" | "failed" {
  if (result.exitCode === 0) return "released";
  const detail = withoutNoise(result.stderr);
  if (/invalid argument|token/i.test(detail)) return "unknown-token";
  if (/pf not enabled|DIOCSTOPREF: No such file or directory/i.test(detail)) return "not-enabled";
  return "failed";
}

/** A pfctl listing's lines without their indentation, blank ones dropped: one item a line. */
export const printedLines = listingLines;

/** `pfctl -t T -T show`: one address a line, indented 3 spaces (`   10.0.0.1`, `   !10.0.0.0/8`). */
export const parseTableEntries = printedLines;

/** `pfctl -s Tables`: one table name a line (active tables only). */
export const parseTableNames = printedLines;

/**
 * Listing an anchor the kernel does not have (never loaded, nothing refers to it) prints
 * `pfctl: DIOCGETRULES: Invalid argument` and nothing else — and exits 0, since main() ignores
 * the listing's result (docs/PFCTL-OUTPUT.md §h): the message is the sign, not the status.
 */
export function isMissingAnchor(stderr: string): boolean {
  return /DIOCGETRULES: Invalid argument/.test(stderr);
}

/** `pfctl: Table does not exist.` (exit 255 on macOS; docs/PFCTL-OUTPUT.md §e). */
export function isMissingTable(stderr: string): boolean {
  return /Table does not exist/i.test(stderr);
}

export interface TableEntry { address: string; cleared: Date | null }

/**
 * `-T show -v`: an address line (three spaces), then `\tCleared:     <ctime>` and four counter
 * lines (docs/PFCTL-OUTPUT.md §e). ctime is local time without a zone, as Date reads it.
 */
export function parseVerboseTableEntries(stdout: string): TableEntry[] {
  const entries: TableEntry[] = [];
  for (const line of stdout.split("\n")) {
    const cleared = /^\tCleared:\s+(.+)$/.exec(line);
    if (cleared && entries.length > 0) {
      const at = new Date(cleared[1]!.trim());
      entries[entries.length - 1]!.cleared = Number.isNaN(at.getTime()) ? null : at;
    } else if (/^ {2,3}\S/.test(line)) entries.push({ address: line.trim(), cleared: null });
  }
  return entries;
}

export interface Endpoint { address: string; port: number }
export interface PfState { proto: string; internal: Endpoint; dialled: Endpoint | null; remote: Endpoint; states: string }

/**
 * `-s state` (Apple's print_state, docs/PFCTL-OUTPUT.md §g): `IF PROTO INTERNAL [<- DIALLED] <- REMOTE   A:B`
 * for inbound states (`->` for outbound). Inbound ones are what forwards carry: INTERNAL is the
 * VM's address and guest port, DIALLED the Mac's address and host port, REMOTE the client.
 */
export function parseStates(stdout: string): PfState[] {
  const states: PfState[] = [];
  const endpoint = (text: string): Endpoint | null => {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$/.exec(text);
    return m ? { address: m[1]!, port: Number(m[2]) } : null;
  };
  for (const line of stdout.split("\n")) {
    const m = /^\S+ (\S+) (\S+)(?: <- (\S+))? <- (\S+)\s+(\S+)$/.exec(line.trim());
    if (!m) continue; // outbound, IPv6 or unreadable
    const internal = endpoint(m[2]!);
    const remote = endpoint(m[4]!);
    if (!internal || !remote) continue;
    states.push({ proto: m[1]!, internal, dialled: m[3] ? endpoint(m[3]) : null, remote, states: m[5]! });
  }
  return states;
}
