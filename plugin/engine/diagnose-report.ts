// A diagnosis for people: the terminal's lines, and a Markdown report to paste into a bug report.
// Pure. The report carries what a maintainer needs (versions, every step, the notes) and
// nothing a reader of a public issue should see: public IPv4 addresses (the user's home or
// office) are replaced, and no state, token or file content is included.
import ipaddr from "ipaddr.js";
import type { Diagnosis, Step, StepId, Verdict } from "./diagnose.js";

export interface Paint { pass(s: string): string; warn(s: string): string; fail(s: string): string; dim(s: string): string; bold(s: string): string }

const LABEL: Record<Verdict, string> = { pass: "PASS", warn: "WARN", fail: "FAIL", unknown: "UNKNOWN", skip: "SKIP" };

export function verdictCounts(diagnosis: Diagnosis): Record<Verdict, number> {
  const counts: Record<Verdict, number> = { pass: 0, warn: 0, fail: 0, unknown: 0, skip: 0 };
  for (const forward of diagnosis.forwards) for (const step of forward.steps) counts[step.verdict]++;
  return counts;
}

/** Steps judged once for the VM and repeated in each forward's list. */
const VM_STEPS = new Set<StepId>(["annotation", "vm-running", "address", "guest-interface", "guest-route", "pf-enabled", "anchor-points", "ip-forwarding"]);

/** One line for the whole run: what failed, where (a VM's step once, not once per forward). */
export function summaryLine(diagnosis: Diagnosis): string {
  const findings = (verdict: Verdict) =>
    [...new Set(diagnosis.forwards.flatMap((f) => f.steps.filter((s) => s.verdict === verdict).map((s) => (f.name && !VM_STEPS.has(s.id) ? `${f.name}: ${s.title}` : s.title))))];
  const failed = findings("fail");
  const [warned, unknown] = [findings("warn").length, findings("unknown").length];
  const rest = [warned ? `${warned} warning(s)` : "", unknown ? `${unknown} unknown` : ""].filter(Boolean).join(", ");
  if (failed.length === 0) return `${diagnosis.instance}: no step failed${rest ? ` (${rest})` : ""}`;
  return `${diagnosis.instance}: ${failed.length} step(s) failed — ${failed.join("; ")}${rest ? ` (${rest})` : ""}`;
}

export function diagnosisLines(diagnosis: Diagnosis, paint: Paint): string[] {
  const colour: Record<Verdict, (s: string) => string> = { pass: paint.pass, warn: paint.warn, fail: paint.fail, unknown: paint.dim, skip: paint.dim };
  const lines: string[] = [];
  for (const forward of diagnosis.forwards) {
    lines.push(paint.bold(forward.name ? `${diagnosis.instance}/${forward.name}  ${forward.route ?? ""}`.trimEnd() : `${diagnosis.instance} (no forward to check)`));
    for (const step of forward.steps) {
      lines.push(`  ${colour[step.verdict](LABEL[step.verdict].padEnd(7))}  ${step.title}: ${step.detail}`);
      if (step.fix && (step.verdict === "fail" || step.verdict === "warn")) lines.push(`           ${paint.dim(`fix: ${step.fix}`)}`);
    }
    lines.push("");
  }
  for (const note of diagnosis.notes) lines.push(paint.dim(`note: ${note}`));
  if (diagnosis.notes.length > 0) lines.push("");
  const summary = summaryLine(diagnosis);
  lines.push(diagnosis.ok ? paint.pass(summary) : paint.fail(summary));
  return lines;
}

export interface ReportContext {
  /** LimaWAN's version. */
  version: string;
  /** When the report was made (ISO 8601). */
  generatedAt: string;
  /** What could be learnt of the Mac and its tools: [label, value]. */
  facts: Array<[string, string]>;
  command: string;
  /** The user's home directory, written `~` (a path under it names the user). */
  home?: string;
}

export function markdownReport(diagnosis: Diagnosis, context: ReportContext): string {
  const counts = verdictCounts(diagnosis);
  const out: string[] = [];
  out.push(`# LimaWAN diagnose: \`${diagnosis.instance}\``, "");
  out.push(`- LimaWAN ${context.version}`);
  for (const [label, value] of context.facts) out.push(`- ${label}: ${value}`);
  out.push(`- command: \`${context.command}\``, `- generated: ${context.generatedAt}`, "");
  out.push(`**Result: ${diagnosis.ok ? "no step failed" : "FAILED"}** — ${counts.pass} pass, ${counts.warn} warn, ${counts.fail} fail, ${counts.unknown} unknown, ${counts.skip} skipped.`, "");
  for (const forward of diagnosis.forwards) {
    out.push(`## ${forward.name ? `\`${forward.name}\`${forward.route ? ` — ${forward.route}` : ""}` : "The VM (no forward to check)"}`, "");
    out.push("| verdict | step | detail |", "|---|---|---|");
    for (const step of forward.steps) out.push(`| ${LABEL[step.verdict]} | ${step.title} | ${cell(stepText(step))} |`);
    out.push("");
  }
  if (diagnosis.notes.length > 0) {
    out.push("## Notes", "");
    for (const note of diagnosis.notes) out.push(`- ${note}`);
    out.push("");
  }
  out.push("Public IPv4 addresses are replaced by `<public address>` in this report.", "");
  const text = context.home && context.home !== "/" ? out.join("\n").split(context.home.replace(/\/$/, "")).join("~") : out.join("\n");
  return redactPublicAddresses(text);
}

function stepText(step: Step): string {
  return step.fix && (step.verdict === "fail" || step.verdict === "warn") ? `${step.detail}<br>**fix:** ${step.fix}` : step.detail;
}

/** A table cell: no pipes or line breaks to end it early. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, "<br>");
}

/** Every IPv4 address on the public internet (ipaddr.js's `unicast` range) becomes `<public address>`. */
export function redactPublicAddresses(text: string): string {
  return text.replace(/(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.]*\d)/g, (match) =>
    ipaddr.IPv4.isValidFourPartDecimal(match) && ipaddr.IPv4.parse(match).range() === "unicast" ? "<public address>" : match,
  );
}
