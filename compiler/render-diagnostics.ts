// The one place diagnostics become text: a compiler-style header, the source line and a
// caret under the offending columns, then the hint.
import type { Diagnostic } from "./diagnostic.js";

export interface Paint { error(s: string): string; warning(s: string): string; dim(s: string): string; bold(s: string): string }
export const NO_PAINT: Paint = { error: (s) => s, warning: (s) => s, dim: (s) => s, bold: (s) => s };

const MAX_FRAME_WIDTH = 120;

/** `sources` maps file → its text, for the code frame; a missing file just gets no frame. */
export function renderDiagnostic(d: Diagnostic, sources: ReadonlyMap<string, string>, paint: Paint = NO_PAINT): string {
  const colour = d.severity === "error" ? paint.error : paint.warning;
  const out = [`${paint.bold(`${d.file}:${d.line}:${d.column}`)}: ${colour(`${d.severity} ${d.code}`)}: ${d.message}`];
  const text = sources.get(d.file);
  const line = text?.split("\n")[d.line - 1]?.replace(/\r$/, "");
  if (line !== undefined) {
    // Long lines (the 1 MB case) are cut around the column so the frame stays readable.
    const start = Math.max(0, d.column - 1 - Math.floor(MAX_FRAME_WIDTH / 2));
    const shown = line.slice(start, start + MAX_FRAME_WIDTH).replace(/\t/g, " ");
    const width = d.endLine === d.line ? Math.max(1, Math.min(d.endColumn - d.column, MAX_FRAME_WIDTH)) : 1;
    const gutter = String(d.line).padStart(5);
    out.push(paint.dim(`${gutter} | `) + (start > 0 ? "…" : "") + shown);
    out.push(paint.dim(`${" ".repeat(gutter.length)} | `) + " ".repeat(d.column - 1 - start + (start > 0 ? 1 : 0)) + colour("^".repeat(width)));
  }
  out.push(paint.dim(`  hint: ${d.hint}`));
  return out.join("\n");
}

export function renderDiagnostics(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, string>, paint: Paint = NO_PAINT): string {
  return diagnostics.map((d) => renderDiagnostic(d, sources, paint)).join("\n\n");
}
