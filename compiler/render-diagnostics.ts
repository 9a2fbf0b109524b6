// The one place diagnostics become text: a compiler-style header, the source line and a
// caret under the offending columns, then the hint. Every part that comes from the user (file
// name, message, source line) is shown with its control characters escaped.
//
// Bounded whatever the file: each file's lines are found once (finding them again for every
// diagnostic made 262,000 one-word lines take hours), and at most SHOWN_PER_FILE diagnostics of
// a file are shown, then how many more there are.
import type { Diagnostic } from "./diagnostic.js";
import { printable } from "./printable.js";

export interface Paint { error(s: string): string; warning(s: string): string; dim(s: string): string; bold(s: string): string }
export const NO_PAINT: Paint = { error: (s) => s, warning: (s) => s, dim: (s) => s, bold: (s) => s };

const MAX_FRAME_WIDTH = 120;

/** Diagnostics shown per file, in the order given (sorted, by Output); the rest are counted. */
export const SHOWN_PER_FILE = 50;

/** A text's lines by number, found in one pass the first time one is asked for. */
export class SourceLines {
  private starts: number[] | null = null;

  constructor(private readonly text: string) {}

  /** Line `n` (1-based) without its line break, or undefined past the end. */
  line(n: number): string | undefined {
    this.starts ??= lineStarts(this.text);
    const start = this.starts[n - 1];
    if (start === undefined) return undefined;
    const next = this.starts[n];
    const line = this.text.slice(start, next === undefined ? this.text.length : next - 1);
    return line.endsWith("\r") ? line.slice(0, -1) : line;
  }
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** `sources` maps file → its text, for the code frame; a missing file just gets no frame. */
export function renderDiagnostic(d: Diagnostic, sources: ReadonlyMap<string, string>, paint: Paint = NO_PAINT): string {
  const text = sources.get(d.file);
  return renderOne(d, text === undefined ? undefined : new SourceLines(text), paint);
}

function renderOne(d: Diagnostic, lines: SourceLines | undefined, paint: Paint): string {
  const colour = d.severity === "error" ? paint.error : paint.warning;
  const out = [`${paint.bold(`${printable(d.file)}:${d.line}:${d.column}`)}: ${colour(`${d.severity} ${d.code}`)}: ${printable(d.message)}`];
  const line = lines?.line(d.line);
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

/**
 * Each file's first `shown` diagnostics, then "and N more" for the rest of that file (those an
 * LW008 counts without listing included: it stands for them, and is not shown itself).
 */
export function renderDiagnostics(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, string>, paint: Paint = NO_PAINT, shown = SHOWN_PER_FILE): string {
  const byFile = new Map<string, Diagnostic[]>();
  for (const d of diagnostics) {
    const list = byFile.get(d.file);
    if (list) list.push(d);
    else byFile.set(d.file, [d]);
  }
  const blocks: string[] = [];
  for (const [file, list] of byFile) {
    const text = sources.get(file);
    const lines = text === undefined ? undefined : new SourceLines(text);
    let more = 0;
    let count = 0;
    for (const d of list) {
      if (d.omitted) more += d.omitted.errors + d.omitted.warnings;
      else if (count < shown) {
        blocks.push(renderOne(d, lines, paint));
        count++;
      } else more++;
    }
    if (more > 0) blocks.push(paint.dim(`and ${more.toLocaleString("en-US")} more in ${printable(file)}`));
  }
  return blocks.join("\n\n");
}
