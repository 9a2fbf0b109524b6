// Findings for people and for machines, in one place. People: one line per finding (a severity
// label, the title, the detail) and the fix under it; doctor and diagnose lay it out each as
// they always have (DOCTOR_LAYOUT, DIAGNOSE_LAYOUT). Machines: the JSON fields each command's
// contract names (docs/DESIGN.md): doctor's `checks`, diagnose's `steps` and status's
// `unreadable`, from the same Finding.
import type { Finding, Severity } from "./finding.js";

/** A colour per severity, and dim for the fix. */
export type SeverityPaint = Record<Severity, (s: string) => string> & { dim(s: string): string };

export interface FindingLayout {
  /** Before each finding's line. */
  indent: string;
  labels: Record<Severity, string>;
  /** Labels are padded to this width. */
  width: number;
  /** Before the fix, on its own line under the detail. */
  fixPrefix: string;
  /** The severities whose fix is shown (a passing step's is not news). */
  fixShown: readonly Severity[];
}

export const DOCTOR_LAYOUT: FindingLayout = {
  indent: "",
  labels: { pass: "ok", warn: "warn", fail: "FAIL", unknown: "??", skip: "skip" },
  width: 4,
  fixPrefix: "",
  fixShown: ["pass", "warn", "fail", "unknown", "skip"],
};

export const DIAGNOSE_LAYOUT: FindingLayout = {
  indent: "  ",
  labels: { pass: "PASS", warn: "WARN", fail: "FAIL", unknown: "UNKNOWN", skip: "SKIP" },
  width: 7,
  fixPrefix: "fix: ",
  fixShown: ["warn", "fail"],
};

/** `ok    Lima: limactl version 2.1.0`, and the fix under the detail. */
export function findingLines(finding: Finding, paint: SeverityPaint, layout: FindingLayout): string[] {
  const label = paint[finding.severity](layout.labels[finding.severity].padEnd(layout.width));
  const lines = [`${layout.indent}${label}  ${finding.title}: ${finding.detail}`];
  if (finding.fix && layout.fixShown.includes(finding.severity)) lines.push(`${" ".repeat(layout.indent.length + layout.width + 2)}${paint.dim(`${layout.fixPrefix}${finding.fix}`)}`);
  return lines;
}

/** doctor --json's `checks`: `{name, level, detail, hint?}`, where a pass is `ok`. */
export function doctorCheckJson(finding: Finding): { name: string; level: string; detail: string; hint?: string } {
  return { name: finding.title, level: finding.severity === "pass" ? "ok" : finding.severity, detail: finding.detail, ...(finding.fix ? { hint: finding.fix } : {}) };
}

/** diagnose --json's `steps`: `{id, title, verdict, detail, fix?}`. */
export function diagnoseStepJson(finding: Finding): { id: string; title: string; verdict: Severity; detail: string; fix?: string } {
  return { id: finding.code, title: finding.title, verdict: finding.severity, detail: finding.detail, ...(finding.fix ? { fix: finding.fix } : {}) };
}

/** status --json's `host.unreadable`: `{what, message, needsRoot, code}` (`code`: the failed read's reason). */
export interface Unreadable { what: string; message: string; needsRoot: boolean; code: string }

export function statusUnreadableJson(finding: Finding): Unreadable {
  const code = finding.cause ?? "internal";
  return { what: finding.title, message: finding.detail, needsRoot: code === "needs-root", code };
}
