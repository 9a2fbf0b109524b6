// The one place diagnostics become text: a compiler-style header, the source line and a
// caret under the offending columns, then the hint. Every part that comes from the user (file
// name, message, source line) is shown with its control characters escaped.
import type { Diagnostic } from "./diagnostic.js";
import { printable } from "./printable.js";

export interface Paint { error(s: string): string; warning(s: string): string; dim(s: string): string; bold(s: string): string }
export const NO_PAINT: Paint = { error: (s) => s, warning: (s) => s, dim: (s) => s, bold: (s) => s };

const MAX_FRAME_WIDTH = 120;

/** `sources` maps file → its text, for the code frame; a missing file just gets no frame. */
export function renderDiagnostic(d: Diagnostic, sources: ReadonlyMap<string, string>, paint: Paint = NO_PAINT): string {
  const colour = d.severity === "error" ? paint.error : paint.warning;
  const out = [`${paint.bold(`${printable(d.file)}:${d.line}:${d.column}`)}: ${colour(`${d.severity} ${d.code}`)}: ${printable(d.message)}`];
  const text = sources.get(d.file);
  const line = text?.split("\n")[d.line - 1]?.replace(/\r$/, "");
  if (line !== undefined) {
    // Long lines (the 1 MB case) are cut around the column so the frame stays readable.
    const start = Math.max(0, d.column - 1 - Math.floor(MAX_FRAME_WIDTH / 2));
    const raw = line.slice(start, start + MAX_FRAME_WIDTH).replace(/\t/g, " ");
    const span = d.endLine === d.line ? Math.max(1, Math.min(d.endColumn - d.column, MAX_FRAME_WIDTH)) : 1;
    // An escape is wider than the character it shows: the caret moves and widens with it.
    const widened = (from: number, to: number) => printable(raw.slice(from, to)).length - raw.slice(from, to).length;
    const offset = d.column - 1 - start;
    const gutter = String(d.line).padStart(5);
    out.push(paint.dim(`${gutter} | `) + (start > 0 ? "…" : "") + printable(raw));
    out.push(paint.dim(`${" ".repeat(gutter.length)} | `) + " ".repeat(offset + widened(0, offset) + (start > 0 ? 1 : 0)) + colour("^".repeat(span + widened(offset, offset + span))));
  }
  out.push(paint.dim(`  hint: ${printable(d.hint)}`));
  return out.join("\n");
}

export function renderDiagnostics(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, string>, paint: Paint = NO_PAINT): string {
  return diagnostics.map((d) => renderDiagnostic(d, sources, paint)).join("\n\n");
}
