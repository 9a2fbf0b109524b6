// Prints a batch of diagnostics for people (code frames on stderr) — JSON output carries
// them as data instead.
import { sortDiagnostics, type Diagnostic } from "../compiler/diagnostic.js";
import type { FileResult } from "../compiler/pipeline.js";
import { renderDiagnostics } from "../compiler/render-diagnostics.js";
import type { Output } from "./output.js";

export function printDiagnostics(out: Output, results: readonly { file: string; text?: string }[], diagnostics: readonly Diagnostic[]): void {
  if (diagnostics.length === 0 || out.options.json) return;
  const sources = new Map(results.filter((r) => r.text !== undefined).map((r) => [r.file, r.text!]));
  process.stderr.write(`${renderDiagnostics(sortDiagnostics(diagnostics), sources, out.paint)}\n`);
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  const summary = [errors ? `${errors} error(s)` : "", warnings ? `${warnings} warning(s)` : ""].filter(Boolean).join(", ");
  process.stderr.write(`\n${summary}\n`);
}

export function allDiagnostics(results: readonly FileResult[]): Diagnostic[] {
  return results.flatMap((r) => r.diagnostics);
}
