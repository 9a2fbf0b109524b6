// Annotation lines → statements. Every bad line gets its own diagnostic and the good ones
// still reach the validators: lines are parsed in batches with per-line recovery (grammar rule
// `Lines`), and a line the batch could not parse is parsed alone for Peggy's exact message.
import { parse as peggyParse, SyntaxError as PeggySyntaxError } from "../grammar/parser.js";
import type { StatementNode } from "./ast.js";
import { CODES, DiagnosticSink, type Span } from "./diagnostic.js";
import type { AnnotationLine } from "./extract.js";

/** Longer lines are refused before parsing: no statement needs them, and a 1 MB line is an accident. */
export const MAX_LINE_LENGTH = 1000;

/**
 * Annotation text is printable ASCII and tab, comments included. Lima's YAML reader (libyaml)
 * breaks lines at U+0085, U+2028 and U+2029, which the yaml library reads as ordinary text:
 * what follows one would be a lima.yaml setting to Lima and part of a comment to LimaWAN.
 */
const NOT_PLAIN_ASCII = /[^\t\x20-\x7e]/;

/** Index of the first character annotation text may not hold, or -1. */
export function firstNotPlainAscii(text: string): number {
  return text.search(NOT_PLAIN_ASCII);
}
const PLAIN_ASCII_HINT =
  "Write statements and comments in plain ASCII: Lima's YAML reader takes some other characters (U+0085, U+2028, U+2029) as line breaks.";

/**
 * Lines per parser call: large enough that the generated parser's per-call set-up (~8 KB of
 * tables and closures) is spread thin, small enough that each batch's syntax trees die young.
 */
const BATCH_LINES = 64;

/** What `Lines` gives for a line that did not parse as a statement. */
interface Unparsed { kind: "unparsed" }

/**
 * Lazy: lowering pulls one statement at a time, so each syntax tree becomes garbage while it
 * is still young (at 10,000 forwards, keeping them all made every scavenge copy them).
 * Diagnostics come out in line order, as they would parsing one line at a time.
 */
export function* parseAnnotation(lines: readonly AnnotationLine[], sink: DiagnosticSink): Generator<StatementNode> {
  for (let first = 0; first < lines.length; first += BATCH_LINES) {
    const batch = lines.slice(first, first + BATCH_LINES);
    // A refused line stands in the batch as an empty one, so the results stay one per line.
    const text = batch.map((line) => (refused(line) ? "" : line.text)).join("\n");
    const results = peggyParse(text, { startRule: "Lines" }) as unknown as (StatementNode | Unparsed | null)[];
    if (results.length !== batch.length) throw new Error(`internal: ${results.length} parse results for ${batch.length} lines`);
    let base = 0; // offset of the line in `text`
    for (let k = 0; k < batch.length; k++) {
      const line = batch[k]!;
      const result = results[k]!;
      if (line.text.length > MAX_LINE_LENGTH) {
        sink.error(
          CODES.LINE_TOO_LONG,
          locate(line, 0, MAX_LINE_LENGTH),
          `annotation line is ${line.text.length} characters long (at most ${MAX_LINE_LENGTH})`,
          "Split it into one statement per line.",
        );
        base += 1;
        continue;
      }
      const odd = firstNotPlainAscii(line.text);
      if (odd >= 0) {
        sink.error(CODES.NOT_PLAIN_ASCII, locate(line, odd, odd + 1), `the annotation has the character ${codePoint(line.text, odd)}, which is not printable ASCII`, PLAIN_ASCII_HINT);
        base += 1;
        continue;
      }
      if (result !== null && result.kind === "unparsed") {
        const alone = parseAlone(line, sink);
        if (alone) yield alone;
      } else if (result !== null) {
        yield mapSpans(result, line, base) as StatementNode;
      }
      base += line.text.length + 1;
    }
  }
}

function refused(line: AnnotationLine): boolean {
  return line.text.length > MAX_LINE_LENGTH || NOT_PLAIN_ASCII.test(line.text);
}

function codePoint(text: string, index: number): string {
  return `U+${text.codePointAt(index)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** One line with the `Line` rule: its statement, or a syntax diagnostic and null. */
function parseAlone(line: AnnotationLine, sink: DiagnosticSink): StatementNode | null {
  // Past the listed diagnostics the line is only counted: the batch did not read it, so it is a
  // syntax error (batch-parse.test.ts), and Peggy's message is the costly part of finding one.
  if (!sink.listing) {
    sink.count("error", locate(line, 0, 1));
    return null;
  }
  try {
    const node = peggyParse(line.text, { startRule: "Line" }) as unknown;
    // Usually this throws: the batch reads every line as it is read alone (test/compiler/
    // batch-parse.test.ts checks it), so a line it could not read is a syntax error here.
    return node === null ? null : (mapSpans(node, line, 0) as StatementNode);
  } catch (error) {
    if (!(error instanceof PeggySyntaxError)) throw error;
    const offset = error.location.start.offset;
    sink.error(CODES.SYNTAX, locate(line, offset, offset + 1), syntaxMessage(error), SYNTAX_HINT);
    return null;
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
 * Replace every {start, end} offset pair the grammar produced (offsets into the parsed text,
 * where the line starts at `base`) with a lima.yaml span, in place: the tree is fresh from the
 * parser and ours, and copying it doubled the garbage at 10,000 forwards.
 */
function mapSpans(node: unknown, line: AnnotationLine, base: number): unknown {
  if (node === null || typeof node !== "object") return node;
  if (Array.isArray(node)) {
    for (const item of node) mapSpans(item, line, base);
    return node;
  }
  const record = node as Record<string, unknown>;
  for (const key in record) {
    const value = record[key];
    if (key === "span") {
      const { start, end } = value as { start: number; end: number };
      record.span = locate(line, start - base, end - base);
    } else if (value !== null && typeof value === "object") {
      mapSpans(value, line, base);
    }
  }
  return node;
}
