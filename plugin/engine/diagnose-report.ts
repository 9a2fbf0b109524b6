// A diagnosis for people: the terminal's lines, and a Markdown report to paste into a bug report.
// Pure. The report carries what a maintainer needs (versions, every step, the notes) and
// nothing a reader of a public issue should see: public IPv4 addresses (the user's home or
// office) are replaced, and no state, token or file content is included. Step details and notes
// carry what the guest and the Mac's tools said: in the report every such text is printable
// (compiler/printable.ts) and inert as Markdown — no link, image, HTML, code span or table cell
// of its own (the terminal's lines are escaped by Output).
import ipaddr from "ipaddr.js";
import { printable } from "../../compiler/printable.js";
import { VM_STEPS, type Diagnosis, type Step, type Verdict } from "./diagnose.js";
import { DIAGNOSE_LAYOUT, findingLines } from "./finding-render.js";

export interface Paint { pass(s: string): string; warn(s: string): string; fail(s: string): string; dim(s: string): string; bold(s: string): string }

const LABEL = DIAGNOSE_LAYOUT.labels;

export function verdictCounts(diagnosis: Diagnosis): Record<Verdict, number> {
  const counts: Record<Verdict, number> = { pass: 0, warn: 0, fail: 0, unknown: 0, skip: 0 };
  for (const forward of diagnosis.forwards) for (const step of forward.steps) counts[step.severity]++;
  return counts;
}

/** One line for the whole run: what failed, where (a VM's step once, not once per forward). */
export function summaryLine(diagnosis: Diagnosis): string {
  const findings = (verdict: Verdict) =>
    [...new Set(diagnosis.forwards.flatMap((f) => f.steps.filter((s) => s.severity === verdict).map((s) => (f.name && !VM_STEPS.has(s.code) ? `${f.name}: ${s.title}` : s.title))))];
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
    for (const step of forward.steps) lines.push(...findingLines(step, { ...colour, dim: paint.dim }, DIAGNOSE_LAYOUT));
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
  // The home directory names the user: written `~`, before escaping could split it.
  const home = context.home && context.home !== "/" ? context.home.replace(/\/$/, "") : null;
  const text = (value: string, atLineStart = false) => markdownText(home ? value.split(home).join("~") : value, atLineStart);
  const code = (value: string) => markdownCode(home ? value.split(home).join("~") : value);
  const out: string[] = [];
  out.push(`# LimaWAN diagnose: ${code(diagnosis.instance)}`, "");
  out.push(`- LimaWAN ${text(context.version)}`);
  for (const [label, value] of context.facts) out.push(`- ${text(label)}: ${text(value)}`);
  out.push(`- command: ${code(context.command)}`, `- generated: ${text(context.generatedAt)}`, "");
  out.push(`**Result: ${diagnosis.ok ? "no step failed" : "FAILED"}** — ${counts.pass} pass, ${counts.warn} warn, ${counts.fail} fail, ${counts.unknown} unknown, ${counts.skip} skipped.`, "");
  for (const forward of diagnosis.forwards) {
    out.push(`## ${forward.name ? `${code(forward.name)}${forward.route ? ` — ${text(forward.route)}` : ""}` : "The VM (no forward to check)"}`, "");
    out.push("| verdict | step | detail |", "|---|---|---|");
    for (const step of forward.steps) out.push(`| ${LABEL[step.severity]} | ${text(step.title)} | ${stepCell(step, text)} |`);
    out.push("");
  }
  if (diagnosis.notes.length > 0) {
    out.push("## Notes", "");
    for (const note of diagnosis.notes) out.push(`- ${text(note, true)}`);
    out.push("");
  }
  out.push("Public IPv4 addresses are replaced by `<public address>` in this report.", "");
  return redactPublicAddresses(out.join("\n"));
}

function stepCell(step: Step, text: (value: string) => string): string {
  return step.fix && DIAGNOSE_LAYOUT.fixShown.includes(step.severity) ? `${text(step.detail)}<br>**fix:** ${text(step.fix)}` : text(step.detail);
}

/**
 * Text inside one line of Markdown — a list item, a heading, a table cell — that reads as itself:
 * control characters escaped (printable), line breaks as `<br>`, and backslash escapes
 * (CommonMark §2.4) for every character that could start markup inline: emphasis, code spans,
 * links and images, autolinks and HTML, entities, GFM's cell ends and strikethrough. `atLineStart`
 * (a list item's text): nor does it begin a block inside it (a heading, quote, list or rule).
 */
export function markdownText(value: string, atLineStart = false): string {
  const inline = value
    .split(/\r?\n/)
    .map((line) => printable(line).replace(/[\\`*_[\]<>&|~]/g, "\\$&"))
    .join("<br>");
  // Four leading spaces would start a code block; a digit, `.` or `)` an ordered list.
  return atLineStart ? inline.trimStart().replace(/^[#>+=-]/, "\\$&").replace(/^(\d+)([.)])/, "$1\\$2") : inline;
}

/**
 * A code span holding `value` as written: printable, on one line, fenced by more backticks than
 * any run inside it (CommonMark §6.1), padded when it starts or ends with a backtick, and with
 * `|` escaped, which GFM reads as a cell's end even inside a code span.
 */
export function markdownCode(value: string): string {
  const inside = printable(value).replace(/\|/g, "\\|");
  const longest = Math.max(0, ...(inside.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  // CommonMark §6.1 strips one space from each end only when the text is not all spaces: pad a
  // span that starts or ends with a backtick, or with spaces at both ends, but never one of spaces alone.
  const pad = inside.trim() !== "" && (inside.startsWith("`") || inside.endsWith("`") || /^ .* $/.test(inside)) ? " " : "";
  return `${fence}${pad}${inside}${pad}${fence}`;
}

/** Every IPv4 address on the public internet (ipaddr.js's `unicast` range) becomes `<public address>`. */
export function redactPublicAddresses(text: string): string {
  return text.replace(/(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.]*\d)/g, (match) =>
    ipaddr.IPv4.isValidFourPartDecimal(match) && ipaddr.IPv4.parse(match).range() === "unicast" ? "<public address>" : match,
  );
}
