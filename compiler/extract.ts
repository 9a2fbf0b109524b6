// lima.yaml → the x-limawan annotation as DSL lines, each tied to its position in lima.yaml
// so every later diagnostic can name file:line:column of the file the user edits.
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, Scalar } from "yaml";
import { CODES, DiagnosticSink, type Span } from "./diagnostic.js";
import { excerpt } from "./printable.js";
import { aliasResolver, readYaml, spanIn, YAML_HINT } from "./read-yaml.js";

export const ANNOTATION_KEY = "x-limawan";

/** One DSL line and where its first character sits in lima.yaml (1-based). */
export interface AnnotationLine {
  text: string;
  line: number;
  column: number;
  /** False when columns inside the line are approximate (an escaped quoted string). */
  exact: boolean;
}

export interface Annotation {
  /** False when the file has no x-limawan key at all: the VM is simply not exposed. */
  present: boolean;
  lines: AnnotationLine[];
}

export function extractAnnotation(source: string, sink: DiagnosticSink): Annotation {
  const { doc, lineCounter, problems } = readYaml(source, { elideRuns: true });
  for (const problem of problems) sink.error(problem.code, problem.at, problem.message, problem.hint);
  if (!doc || problems.length > 0) return { present: false, lines: [] };
  const spanOf = spanIn(lineCounter);

  if (!isMap(doc.contents)) return { present: false, lines: [] };
  const pair = doc.contents.items.find((item) => isScalar(item.key) && item.key.value === ANNOTATION_KEY);
  if (!pair) return { present: false, lines: [] };
  // An alias (`x-limawan: *exposed`) stands for its anchored node, which is where the text is.
  const resolve = aliasResolver(doc);
  const value = isAlias(pair.value) ? resolve(pair.value) ?? pair.value : pair.value;
  if (isAlias(value)) {
    sink.error(CODES.YAML_SYNTAX, nodeSpan(value, spanOf), unanchoredAlias(value.source), YAML_HINT);
    return { present: true, lines: [] };
  }
  if (value === null || (isScalar(value) && value.value === null)) return { present: true, lines: [] };

  const typeHint =
    "Write the annotation as a block of lines (x-limawan: |) or as a list of strings, one statement each.";

  if (isScalar(value)) {
    if (typeof value.value !== "string") {
      sink.error(CODES.ANNOTATION_TYPE, nodeSpan(value, spanOf), `${ANNOTATION_KEY} must be text, not a ${typeof value.value}`, typeHint);
      return { present: true, lines: [] };
    }
    if (value.type === Scalar.BLOCK_FOLDED) {
      sink.error(
        CODES.FOLDED_SCALAR,
        nodeSpan(value, spanOf),
        `${ANNOTATION_KEY} uses a folded block (>), which joins lines into one statement`,
        "Use a literal block (x-limawan: |) so each line stays one statement.",
      );
      return { present: true, lines: [] };
    }
    return { present: true, lines: scalarLines(value, source, lineCounter) };
  }

  if (isSeq(value)) {
    const lines: AnnotationLine[] = [];
    for (const entry of value.items) {
      const item = isAlias(entry) ? resolve(entry) ?? entry : entry;
      if (isAlias(item)) {
        sink.error(CODES.YAML_SYNTAX, nodeSpan(item, spanOf), unanchoredAlias(item.source), YAML_HINT);
      } else if (isScalar(item) && typeof item.value === "string") {
        for (const line of scalarLines(item, source, lineCounter)) lines.push(line);
      } else {
        const at = isNode(entry) && entry.range ? spanOf(entry.range[0], entry.range[1]) : nodeSpan(value, spanOf);
        sink.error(CODES.ANNOTATION_TYPE, at, `each item of ${ANNOTATION_KEY} must be a string statement`, typeHint);
      }
    }
    return { present: true, lines };
  }

  sink.error(CODES.ANNOTATION_TYPE, nodeSpan(value, spanOf), `${ANNOTATION_KEY} must be text or a list of strings, not a mapping`, typeHint);
  return { present: true, lines: [] };
}

/** A scalar's text as annotation lines: one per line, a final newline ending the last. */
export function valueLines(text: string): string[] {
  const values = text.split("\n");
  if (values.length > 1 && values[values.length - 1] === "") values.pop();
  return values;
}

function scalarLines(node: Scalar, source: string, lineCounter: LineCounter): AnnotationLine[] {
  const text = node.value as string;
  const start = node.range?.[0] ?? 0;
  const values = valueLines(text);

  if (node.type === Scalar.BLOCK_LITERAL) {
    // Content starts on the line after the `|` header, one value line per source line;
    // the column is wherever that exact text ends up on the source line (any indentation).
    // Source lines are found by the offsets the parse recorded, not cut out as strings: a
    // 1 MiB block has 262,000 of them.
    const header = lineCounter.linePos(start).line; // 1-based
    const starts = lineCounter.lineStarts;
    return values.map((value, k) => {
      const from = starts[header + k] ?? source.length;
      const next = starts[header + k + 1];
      let end = next === undefined ? source.length : next - 1;
      if (end > from && source.charCodeAt(end - 1) === 13) end--; // a CRLF file's \r
      const exact = end - from >= value.length && source.startsWith(value, end - value.length);
      return { text: value, line: header + k + 1, column: exact ? end - from - value.length + 1 : 1, exact };
    });
  }

  // Plain or quoted scalar (top-level string or a list item).
  const quote = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ? 1 : 0;
  const pos = lineCounter.linePos(start);
  if (values.length === 1 && source.slice(start + quote, start + quote + text.length) === text) {
    return [{ text, line: pos.line, column: pos.col + quote, exact: true }];
  }
  // Escapes or line folding moved characters around: point at the string itself.
  return values.map((value) => ({ text: value, line: pos.line, column: pos.col, exact: false }));
}

function unanchoredAlias(name: string): string {
  return `lima.yaml is not valid YAML: alias \`*${excerpt(name)}\` has no anchor`;
}

function nodeSpan(node: { range?: [number, number, number] | null }, spanOf: (a: number, b: number) => Span): Span {
  const range = node.range ?? [0, 0, 0];
  return spanOf(range[0], range[1]);
}
