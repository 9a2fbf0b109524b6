// pfctl adapter: every pfctl call LimaWAN makes, and the parsing of its output, in one place.
// DESIGN.md "Host model": one `limawan` anchor, checked with -n then loaded whole with one
// `-a limawan -f -` per change; PF enabled by reference (-E/-X), never -d; the main ruleset
// loaded only when the anchor points must be (re)installed.
import { ANCHOR } from "../../compiler/emit-pf.js";
import { CliError, EXIT } from "../errors.js";
import type { CommandResult, Runner } from "./run.js";

/** Printed by every pfctl on macOS, and harmless (PF-FACTS.md §3, §8.5). */
const NOISE = [
  /^No ALTQ support in kernel$/,
  /^ALTQ related functions disabled$/,
  /^pfctl: Use of -f option, could result in flushing of rules present in the main ruleset added by the system at startup\.$/,
  /^See \/etc\/pf\.conf for further details\.$/,
];

export function withoutNoise(stderr: string): string {
  return stderr
    .split("\n")
    .filter((line) => line.trim() !== "" && !NOISE.some((re) => re.test(line.trim())))
    .join("\n");
}

export interface LabelCounters { evaluations: number; packets: number; bytes: number; states: number }

export class Pfctl {
  constructor(private readonly runner: Runner) {}

  /** `pfctl -n`: parse only. Throws with pfctl's own message when it rejects the text. */
  async checkAnchor(text: string): Promise<void> {
    this.expectOk(await this.runner.run("pfctl", ["-n", "-a", ANCHOR, "-f", "-"], { input: text }), "pfctl rejected the generated rules; nothing was changed");
  }

  /** Replace the whole anchor atomically; states survive (PF-FACTS.md §2). */
  async loadAnchor(text: string): Promise<void> {
    this.expectOk(await this.runner.change("pfctl", ["-a", ANCHOR, "-f", "-"], { input: text }), "pfctl could not load the rules");
  }

  /** Rules, nat and tables of our anchor only — never the main ruleset's (no -a would flush everything). */
  async flushAnchor(): Promise<void> {
    this.expectOk(await this.runner.change("pfctl", ["-a", ANCHOR, "-F", "all"]), "pfctl could not flush the limawan anchor");
  }

  async killTable(table: string): Promise<void> {
    const result = await this.runner.change("pfctl", ["-a", ANCHOR, "-t", table, "-T", "kill"]);
    // A table already gone is what we wanted.
    if (result.exitCode !== 0 && !/does not exist|Table does not exist/i.test(result.stderr)) {
      this.expectOk(result, `pfctl could not remove table <${table}>`);
    }
  }

  async checkMainRuleset(file: string): Promise<void> {
    this.expectOk(await this.runner.run("pfctl", ["-n", "-f", file]), `pfctl rejects ${file}; it was not installed`);
  }

  async loadMainRuleset(file: string): Promise<void> {
    this.expectOk(await this.runner.change("pfctl", ["-f", file]), `pfctl could not load ${file}`);
  }

  /** Enable PF with a reference; returns the token to release later. */
  async enable(): Promise<string> {
    const result = await this.runner.change("pfctl", ["-E"]);
    if (this.runner.dryRun) return "(dry-run)";
    this.expectOk(result, "pfctl could not enable PF");
    const token = /Token\s*:\s*(\d+)/.exec(`${result.stderr}\n${result.stdout}`)?.[1];
    if (!token) throw new CliError(EXIT.HOST_COMMAND, "pfctl -E printed no token", undefined, withoutNoise(result.stderr));
    return token;
  }

  async release(token: string): Promise<void> {
    const result = await this.runner.change("pfctl", ["-X", token]);
    // An unknown token means PF already forgot it (reboot): nothing of ours to release.
    if (result.exitCode !== 0 && !/invalid argument|token/i.test(result.stderr)) this.expectOk(result, "pfctl could not release PF");
  }

  /** Tokens currently holding PF enabled (`pfctl -s References`). */
  async references(): Promise<Set<string>> {
    const result = await this.runner.run("pfctl", ["-s", "References"]);
    this.expectOk(result, "pfctl could not list PF references");
    return new Set(result.stdout.match(/\b\d{6,}\b/g) ?? []);
  }

  async enabled(): Promise<boolean> {
    const result = await this.runner.run("pfctl", ["-s", "info"]);
    this.expectOk(result, "pfctl could not read PF status");
    return /^Status:\s*Enabled/m.test(result.stdout);
  }

  /** Are `rdr-anchor "limawan"` and `anchor "limawan"` in the loaded main ruleset? */
  async loadedAnchorPoints(): Promise<{ rdr: boolean; filter: boolean }> {
    const [nat, rules] = await Promise.all([this.runner.run("pfctl", ["-sn"]), this.runner.run("pfctl", ["-sr"])]);
    this.expectOk(nat, "pfctl could not list translation rules");
    this.expectOk(rules, "pfctl could not list filter rules");
    const point = (kind: string, text: string) => new RegExp(`^${kind} "${ANCHOR}"(\\s|$)`, "m").test(text);
    return { rdr: point("rdr-anchor", nat.stdout), filter: point("anchor", rules.stdout) };
  }

  /** Per-label counters of our anchor's filter rules (`pfctl -a limawan -s labels`). */
  async labels(): Promise<Map<string, LabelCounters>> {
    const result = await this.runner.run("pfctl", ["-a", ANCHOR, "-s", "labels"]);
    this.expectOk(result, "pfctl could not read rule counters");
    return parseLabels(result.stdout);
  }

  async tableEntries(table: string): Promise<string[]> {
    const result = await this.runner.run("pfctl", ["-a", ANCHOR, "-t", table, "-T", "show"]);
    if (result.exitCode !== 0) return [];
    return result.stdout.split("\n").map((l) => l.trim()).filter(Boolean);
  }

  private expectOk(result: CommandResult, message: string): void {
    if (result.exitCode === 0) return;
    const detail = withoutNoise(result.stderr);
    if (/Permission denied|Operation not permitted/.test(detail)) {
      throw new CliError(EXIT.ENVIRONMENT, "pfctl needs root", "Add --sudo: LimaWAN then asks sudo itself.", detail);
    }
    throw new CliError(EXIT.HOST_COMMAND, message, undefined, detail || `pfctl exited with ${result.exitCode}`);
  }
}

/**
 * `LABEL evaluations packets bytes in_packets in_bytes out_packets out_bytes [states]`;
 * the same label on several rules (one per interface and protocol) is summed.
 */
export function parseLabels(stdout: string): Map<string, LabelCounters> {
  const labels = new Map<string, LabelCounters>();
  for (const line of stdout.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8 || !fields.slice(1).every((f) => /^\d+$/.test(f))) continue;
    const [label, evaluations, packets, bytes] = fields;
    const states = fields.length >= 9 ? Number(fields[8]) : 0;
    const sum = labels.get(label!) ?? { evaluations: 0, packets: 0, bytes: 0, states: 0 };
    labels.set(label!, {
      evaluations: sum.evaluations + Number(evaluations),
      packets: sum.packets + Number(packets),
      bytes: sum.bytes + Number(bytes),
      states: sum.states + states,
    });
  }
  return labels;
}
