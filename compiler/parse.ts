// Annotation lines → statements, one Peggy parse per line so that every bad line gets its
// own diagnostic and the good ones still reach the validators.
import { parse as parseLine, SyntaxError as PeggySyntaxError } from "../grammar/parser.js";
import type { StatementNode } from "./ast.js";
import { CODES, DiagnosticSink, type Span } from "./diagnostic.js";
import type { AnnotationLine } from "./extract.js";

/** Longer lines are refused before parsing: no statement needs them, and a 1 MB line is an accident. */
export const MAX_LINE_LENGTH = 1000;

/**
 * Lazy: lowering pulls one statement at a time, so each syntax tree becomes garbage while it
 * is still young (at 10,000 forwards, keeping them all made every scavenge copy them).
 */
export function* parseAnnotation(lines: readonly AnnotationLine[], sink: DiagnosticSink): Generator<StatementNode> {
  for (const line of lines) {
    const at = (start: number, end: number): Span => locate(line, start, end);
    if (line.text.length > MAX_LINE_LENGTH) {
      sink.error(
        CODES.LINE_TOO_LONG,
        at(0, MAX_LINE_LENGTH),
        `annotation line is ${line.text.length} characters long (at most ${MAX_LINE_LENGTH})`,
        "Split it into one statement per line.",
      );
      continue;
    }
    try {
      const node = parseLine(line.text, { startRule: "Line" }) as unknown;
      if (node !== null) yield mapSpans(node, line) as StatementNode;
    } catch (error) {
      if (!(error instanceof PeggySyntaxError)) throw error;
      const offset = error.location.start.offset;
      sink.error(CODES.SYNTAX, at(offset, offset + 1), syntaxMessage(error), SYNTAX_HINT);
    }
  }
}

const SYNTAX_HINT =
  "Statements: `expose [NAME] [GUEST] as HOST [from ADDRS] [on IF] [limit N/30s] [max N] [log]`, " +
  "`interface IF`, `allow from ADDRS`, `allow privileged`.";

function syntaxMessage(error: PeggySyntaxError): string {
  // Peggy's own wording ("Expected "as" or whitespace but "x" found.") is precise; only the
  // end-of-line case reads badly.
  return error.message.replace(/but end of input found\.$/, "but the line ends here.").replace(/\.$/, "");
}

function locate(line: AnnotationLine, start: number, end: number): Span {
  if (!line.exact) return { line: line.line, column: line.column, endLine: line.line, endColumn: line.column + 1 };
  return { line: line.line, column: line.column + start, endLine: line.line, endColumn: line.column + Math.max(end, start + 1) };
}

/**
 * Replace every {start, end} offset pair the grammar produced with a lima.yaml span, in
 * place: the tree is fresh from the parser and ours, and copying it doubled the garbage at
 * 10,000 forwards.
 */
function mapSpans(node: unknown, line: AnnotationLine): unknown {
  if (node === null || typeof node !== "object") return node;
  if (Array.isArray(node)) {
    for (const item of node) mapSpans(item, line);
    return node;
  }
  const record = node as Record<string, unknown>;
  for (const key in record) {
    const value = record[key];
    if (key === "span") {
      const { start, end } = value as { start: number; end: number };
      record.span = locate(line, start, end);
    } else if (value !== null && typeof value === "object") {
      mapSpans(value, line);
    }
  }
  return node;
}
