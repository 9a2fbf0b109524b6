// Long runs of one-line list items, read without the yaml library's parser. The library parses
// some 50,000 tokens a second on a busy two-core machine whatever they are: a 1 MiB list of
// one-word items (`x-limawan:` then 175,000 `  - x` lines, a million tokens) took 2.5–5 s,
// while everything LimaWAN does with it after takes a tenth of that. So the compile reads such
// a run as the library would, from the text: only the run's first and last item go through the
// parser (they give the run its context), the items between are made here, and the result is
// checked against the parse before it is used — where anything differs, the file is parsed
// whole. test/compiler/yaml-runs.test.ts compares both ways on generated files.
import { isCollection, isNode, isScalar, LineCounter, Scalar, visit, type Document, type YAMLSeq } from "yaml";

/** Runs shorter than this are parsed as they are: Lima's own files never come near it. */
export const ELIDED_RUN = 32;

/**
 * One list item on its own line, as the library reads it in block context: `- ` at some
 * indentation, then either a plain scalar starting with a letter (so no indicator, number,
 * alias, anchor or tag) holding only printable ASCII but `#` (a comment) and `:` (a mapping),
 * its value that text without trailing spaces; or a quoted string of printable ASCII without
 * its quote character or a backslash (no escapes, no doubled quotes), its value what is quoted.
 */
const ITEM = /^( *)- (?:([A-Za-z][\x20-\x22\x24-\x39\x3b-\x7e]*)|"([\x20\x21\x23-\x5b\x5d-\x7e]+)" *|'([\x20-\x26\x28-\x5b\x5d-\x7e]+)' *)$/;

/** Plain scalars starting with a letter that YAML 1.2's core schema does not read as strings. */
const NOT_STRINGS = new Set(["null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE"]);

type ItemStyle = typeof Scalar.PLAIN | typeof Scalar.QUOTE_DOUBLE | typeof Scalar.QUOTE_SINGLE;

interface Item { lineStart: number; textStart: number; value: string; style: ItemStyle; lineEnd: number }

/** The item a line holds, or null. */
function itemOf(line: string, lineStart: number, lineEnd: number): { indent: number; item: Item } | null {
  const m = ITEM.exec(line);
  if (!m) return null;
  const indent = m[1]!.length;
  const textStart = lineStart + indent + 2;
  // Objects written out whole: spreading a shared part made each item a slow object (0.7 s for 175,000).
  if (m[2] !== undefined) {
    const value = m[2].replace(/ +$/, "");
    return NOT_STRINGS.has(value) ? null : { indent, item: { lineStart, textStart, value, style: Scalar.PLAIN, lineEnd } };
  }
  const style = m[3] !== undefined ? Scalar.QUOTE_DOUBLE : Scalar.QUOTE_SINGLE;
  return { indent, item: { lineStart, textStart, value: (m[3] ?? m[4])!, style, lineEnd } };
}

/** A run's items between its first and last, cut out of the text the parser reads. */
interface Cut {
  /** Where the cut starts and ends in the source: the second item's line to the last item's. */
  start: number;
  end: number;
  /** The first and last item: kept for the parser. */
  first: Item;
  last: Item;
  elided: Item[];
}

export interface ElidedText { text: string; cuts: Cut[] }

/** The source without the middle of every long run of one-line items, or null if it has none. */
export function elideRuns(source: string): ElidedText | null {
  // A %YAML 1.1 directive changes what a plain scalar means (yes, no, on, off are booleans).
  if (source.startsWith("%") || source.includes("\n%")) return null;
  const cuts: Cut[] = [];
  let run: Item[] = [];
  let indent = -1;
  const close = () => {
    if (run.length >= ELIDED_RUN) {
      const first = run[0]!;
      const last = run[run.length - 1]!;
      const elided = run.slice(1, -1);
      cuts.push({ start: elided[0]!.lineStart, end: last.lineStart, first, last, elided });
    }
    run = [];
    indent = -1;
  };
  for (let lineStart = 0; lineStart < source.length; ) {
    const newline = source.indexOf("\n", lineStart);
    const lineEnd = newline < 0 ? source.length : newline;
    const found = newline < 0 ? null : itemOf(source.slice(lineStart, lineEnd), lineStart, lineEnd);
    if (!found) {
      close(); // the last line of the text ends no run: the parser reads it
    } else {
      if (found.indent !== indent) close();
      indent = found.indent;
      run.push(found.item);
    }
    lineStart = lineEnd + 1;
  }
  close();
  if (cuts.length === 0) return null;
  let text = "";
  let from = 0;
  for (const cut of cuts) {
    text += source.slice(from, cut.start);
    from = cut.end;
  }
  return { text: text + source.slice(from), cuts };
}

/**
 * The document parsed from `elided.text`, made the document of the whole source, in place: the
 * cut items put back in their list, every position moved to the source's, the line counter
 * given every line. False, the document untouched, when the parse did not read a run as one
 * block list's consecutive items: the caller parses the source whole.
 */
export function restoreRuns(doc: Document.Parsed, elided: ElidedText, parsedLines: LineCounter, sourceLines: LineCounter): boolean {
  // Positions in the parsed text → the source: after each cut, add what it removed.
  const removed: { at: number; total: number }[] = [];
  let total = 0;
  for (const cut of elided.cuts) {
    total += cut.end - cut.start;
    removed.push({ at: cut.end - total, total });
  }
  // A position where a cut was is the start of what follows it, or the end of what preceded it.
  const moved = (offset: number, isEnd: boolean): number => {
    let low = 0;
    let high = removed.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (removed[mid]!.at < offset || (!isEnd && removed[mid]!.at === offset)) low = mid + 1;
      else high = mid;
    }
    return low === 0 ? offset : offset + removed[low - 1]!.total;
  };
  const toSource = (offset: number) => moved(offset, false);
  const range = ([start, valueEnd, end]: [number, number, number]): [number, number, number] => [toSource(start), moved(valueEnd, true), moved(end, true)];

  // Each run's first and last item must be consecutive items of one block list, read as the text says.
  const items = new Map<number, { seq: YAMLSeq; index: number; inFlow: boolean }>();
  visit(doc, {
    Seq(_, seq, path) {
      // In a flow collection, even a broken one holding a block list, a line break ends no item.
      const inFlow = seq.flow === true || path.some((node) => isCollection(node) && node.flow === true);
      seq.items.forEach((item, index) => {
        if (isNode(item) && item.range) items.set(toSource(item.range[0]), { seq, index, inFlow });
      });
    },
  });
  // Where the parser had to recover, more lines might have been read otherwise.
  const troubled = doc.errors.map((error) => [toSource(error.pos[0]), moved(error.pos[1], true)] as const);
  const places: { seq: YAMLSeq; index: number }[] = [];
  for (const cut of elided.cuts) {
    const first = items.get(cut.first.textStart);
    const last = items.get(cut.last.textStart);
    if (!first || !last || first.seq !== last.seq || first.inFlow || last.index !== first.index + 1) return false;
    if (troubled.some(([from, to]) => from <= cut.last.lineEnd && to >= cut.first.lineStart)) return false;
    if (!isItem(first.seq.items[first.index], cut.first) || !isItem(last.seq.items[last.index], cut.last)) return false;
    places.push(first);
  }

  for (const error of [...doc.errors, ...doc.warnings]) error.pos = [toSource(error.pos[0]), moved(error.pos[1], true)];
  visit(doc, {
    Node(_, node) {
      if (node.range) node.range = range(node.range);
    },
  });
  if (doc.range) doc.range = range(doc.range);
  // Back to front, so the indexes found above still hold while items go in.
  for (let k = elided.cuts.length - 1; k >= 0; k--) {
    const { seq, index } = places[k]!;
    // Not splice(…, ...items): a run may be longer than an argument list.
    seq.items = seq.items.slice(0, index + 1).concat(elided.cuts[k]!.elided.map(itemScalar), seq.items.slice(index + 1));
  }

  let next = 0; // the next cut whose lines are still to be counted
  for (const start of parsedLines.lineStarts) {
    const at = toSource(start);
    while (next < elided.cuts.length && elided.cuts[next]!.end <= at) {
      for (const item of elided.cuts[next]!.elided) sourceLines.addNewLine(item.lineStart);
      next++;
    }
    sourceLines.addNewLine(at);
  }
  return true;
}

function isItem(node: unknown, item: Item): boolean {
  return isScalar(node) && node.type === item.style && node.value === item.value;
}

/** The scalar the library makes of an item line: quotes in its value's range, which runs on to the end of the line. */
function itemScalar(item: Item): Scalar<string> {
  const scalar = new Scalar(item.value);
  scalar.type = item.style;
  scalar.source = item.value;
  const quotes = item.style === Scalar.PLAIN ? 0 : 2;
  scalar.range = [item.textStart, item.textStart + item.value.length + quotes, item.lineEnd + 1];
  return scalar;
}
