// Pure edits of a lima.yaml's x-limawan annotation for `expose` / `unexpose`. The yaml Document
// API finds the node that holds each statement, and the edit replaces that node's own text
// only — a line of a literal block, a list item, a quoted string — so every other byte (comments,
// order, quoting, CRLF line ends) stays as it was. A form that cannot be edited exactly is
// refused, and so is every result annotation-edit-check.ts does not read back as intended.
import { isAlias, isMap, isScalar, isSeq, Scalar, type Document, type LineCounter, type Node, type Pair } from "yaml";
import { ANNOTATION_KEY, valueLines } from "../compiler/extract.js";
import { firstNotPlainAscii } from "../compiler/parse.js";
import { readAnnotation } from "../compiler/pipeline.js";
import { aliasResolver, readYaml } from "../compiler/read-yaml.js";
import { editProblem, statementLines } from "./annotation-edit-check.js";

export type EditResult = { ok: true; text: string } | { ok: false; reason: string };

const STATEMENT_KEYWORDS = ["expose", "interface", "allow"];

/** `http 80 as 8080` → `expose http 80 as 8080`; a full statement is kept as written. */
export function normaliseStatement(input: string): EditResult {
  // One line of printable ASCII, as the compiler requires of annotation text (LW007): a newline
  // would smuggle in a second statement, U+0085 a lima.yaml key (a line break to Lima). Checked
  // before spaces are folded, which would turn \n into a space.
  if (firstNotPlainAscii(input) >= 0) return { ok: false, reason: "the statement must be one line of printable ASCII" };
  const text = input.trim().replace(/[ \t]+/g, " ");
  if (text === "") return { ok: false, reason: "the statement is empty" };
  const first = text.split(" ")[0]!;
  return { ok: true, text: STATEMENT_KEYWORDS.includes(first) ? text : `expose ${text}` };
}

export function addStatement(source: string, statement: string): EditResult {
  const read = readForEdit(source);
  if ("reason" in read) return fail(read.reason);
  const { pair, lineCounter } = read;
  const lines = source.split("\n");
  const cr = lineEnding(source);
  const row = (offset: number) => lineCounter.linePos(offset).line - 1; // 0-based line of an offset

  let edited: string[];
  if (!pair) {
    // No annotation yet: a new block at the end of the document, before a final `...` if any.
    const body = source.endsWith("\n") || source === "" ? lines.slice(0, -1) : lines;
    const at = documentEnd(body);
    edited = [...body.slice(0, at), `${ANNOTATION_KEY}: |${cr}`, `  ${statement}${cr}`, ...body.slice(at), ""];
  } else if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) {
    const keyLine = row(keyOf(pair).range![0]);
    const line = lines[keyLine]!.replace(/\r$/, "");
    const colon = line.indexOf(":", line.indexOf(ANNOTATION_KEY) + ANNOTATION_KEY.length);
    if (colon < 0 || !/^\s*(#.*)?$/.test(line.slice(colon + 1))) return fail(`cannot find the end of the \`${ANNOTATION_KEY}:\` key`);
    const indent = " ".repeat(leadingSpaces(line) + 2);
    edited = [...lines.slice(0, keyLine), `${line.slice(0, colon + 1)} |${line.slice(colon + 1)}${cr}`, `${indent}${statement}${cr}`, ...lines.slice(keyLine + 1)];
  } else if (isScalar(pair.value) && pair.value.type === Scalar.BLOCK_LITERAL) {
    const header = row(pair.value.range![0]);
    const keyIndent = leadingSpaces(lines[row(keyOf(pair).range![0])]!);
    let last = header;
    let indent: number | null = null;
    for (let i = header + 1; i < lines.length; i++) {
      const line = lines[i]!.replace(/\r$/, "");
      if (line.trim() === "") continue;
      if (leadingSpaces(line) <= keyIndent) break;
      indent ??= leadingSpaces(line);
      last = i;
    }
    edited = [...lines.slice(0, last + 1), `${" ".repeat(indent ?? keyIndent + 2)}${statement}${cr}`, ...lines.slice(last + 1)];
  } else if (isSeq(pair.value) && !pair.value.flow) {
    const lastItem = pair.value.items[pair.value.items.length - 1] as Node | undefined;
    if (!lastItem?.range) return fail("the annotation list is empty; write the first statement by hand");
    const lastLine = row(Math.max(lastItem.range[0], lastItem.range[1] - 1));
    const dash = dashOf(source, lastItem);
    if (dash === null) return fail("cannot find the list's `- ` to copy its layout");
    edited = [...lines.slice(0, lastLine + 1), `${" ".repeat(dash.column)}- ${JSON.stringify(statement)}${cr}`, ...lines.slice(lastLine + 1)];
  } else {
    return fail(`\`${ANNOTATION_KEY}\` is neither a literal block (|) nor a list; edit it by hand`);
  }
  return checked(source, edited.join("\n"), [...statementLines(source), statement]);
}

/** Remove the statement that defines forward NAME, and only it. */
export function removeForward(source: string, file: string, name: string): EditResult & { names?: string[] } {
  const read = readForEdit(source);
  if ("reason" in read) return fail(read.reason);
  if (!read.pair) return { ok: false, reason: `no forward named \`${name}\``, names: [] };
  const held = statementsByNode(read.doc, read.pair);
  if ("reason" in held) return fail(held.reason);

  // Which node and line define NAME: every line of every node, read by the compiler in one go
  // (one list item each), so derived names and the first of two equal names come out as in `up`.
  const flat = held.flatMap((unit) => unit.lines.map((text, line) => ({ unit, line, text })));
  const probe = `${ANNOTATION_KEY}:\n${flat.map((entry) => `  - ${JSON.stringify(entry.text)}\n`).join("")}`;
  const forwards = readAnnotation({ vm: "edit", file, text: probe }).draft?.forwards ?? [];
  const names = forwards.map((f) => f.name.value);
  const forward = forwards.find((f) => f.name.value === name);
  const target = forward ? flat[forward.at.line - 2] : undefined;
  if (!target) return { ok: false, reason: `no forward named \`${name}\``, names };

  const edited = removeLine(source, read.lineCounter, target.unit, target.line);
  if ("reason" in edited) return fail(edited.reason);
  // Equal lines are interchangeable here: the statements left are the same whichever goes.
  const expected = statementLines(source);
  const index = expected.indexOf(target.text);
  if (index < 0) return fail("cannot find the statement in the annotation; edit by hand");
  expected.splice(index, 1);
  return checked(source, expected.length === 0 ? withoutEmptyAnnotation(edited.text) : edited.text, expected);
}

/**
 * The file without its `x-limawan` key once the key holds nothing (the last statement went):
 * an empty `x-limawan: |` or `[]` says nothing to anyone. Kept when it holds anything else (a
 * comment line in its block) or does not stand on lines of its own (a flow mapping).
 */
function withoutEmptyAnnotation(text: string): string {
  const read = readForEdit(text);
  if ("reason" in read || !read.pair) return text;
  const value = read.pair.value as Node | null;
  const empty =
    value === null ||
    (isScalar(value) && (value.value === null || value.value === "")) ||
    ((isSeq(value) || isMap(value)) && value.items.length === 0);
  const key = keyOf(read.pair).range;
  if (!empty || !key || value?.anchor) return text;
  const from = lineStartOf(text, key[0]);
  // An empty block's range runs on over the blank lines after it: they stay, as they were outside it.
  let end = Math.max(key[1], value?.range?.[1] ?? 0);
  while (end > key[1] && /\s/.test(text[end - 1]!)) end--;
  const newline = text.indexOf("\n", Math.max(from, end - 1));
  const to = newline < 0 ? text.length : newline + 1;
  // Only the key's own lines: nothing before it on its line, nothing but a comment after its value.
  if (text.slice(from, key[0]).trim() !== "" || !/^\s*(#.*)?$/.test(text.slice(end, to).replace(/\r?\n$/, ""))) return text;
  return text.slice(0, from) + text.slice(to);
}

/** A node of the annotation that holds statement lines: the annotation itself or one list item. */
interface Holder {
  /** Where the text is in this file: the scalar, or the alias item standing for one elsewhere. */
  node: Node;
  scalar: Scalar;
  lines: string[];
  /** The list it is an item of, if any. */
  list: { flow: boolean; items: Node[]; index: number } | null;
}

function statementsByNode(doc: Document.Parsed, pair: Pair): Holder[] | { reason: string } {
  const value = pair.value as Node | null;
  if (isAlias(value)) return { reason: `\`${ANNOTATION_KEY}\` is an alias of another key's value; edit that key by hand` };
  const resolve = aliasResolver(doc);
  const holder = (node: Node, list: Holder["list"]): Holder | null => {
    const scalar = isAlias(node) ? resolve(node) : node;
    if (!isScalar(scalar) || typeof scalar.value !== "string") return null; // not a statement: the compiler says so
    return { node, scalar, lines: valueLines(scalar.value), list };
  };
  const holders = isSeq(value)
    ? value.items.map((item, index) => holder(item as Node, { flow: Boolean(value.flow), items: value.items as Node[], index }))
    : [value ? holder(value, null) : null];
  const found = holders.filter((h): h is Holder => h !== null);
  if (found.some((h) => h.scalar.type === Scalar.BLOCK_FOLDED)) return { reason: `\`${ANNOTATION_KEY}\` holds a folded block (>); edit it by hand` };
  return found;
}

/** The file without line `line` of the holder's text, edited where the holder is written. */
function removeLine(source: string, lineCounter: LineCounter, holder: Holder, line: number): { text: string } | { reason: string } {
  const { node, scalar, lines, list } = holder;
  const rows = source.split("\n");
  const row = (offset: number) => lineCounter.linePos(offset).line - 1;
  const range = node.range!;

  if (lines.length === 1 && list) {
    // The item holds this statement only: the item goes.
    if (list.flow) return removeFlowItem(source, list.items, list.index);
    // From its `- ` line to its last line, if nothing but a comment follows it there.
    const dash = dashOf(source, node);
    const last = row(Math.max(range[0], range[1] - 1));
    const rest = row(range[1]) === last ? (rows[last] ?? "").slice(range[1] - lineStartOf(source, range[1])) : "";
    if (dash === null || !/^\s*(#.*)?$/.test(rest.replace(/\r$/, ""))) return { reason: "the list item does not stand on lines of its own; edit by hand" };
    return { text: [...rows.slice(0, dash.row), ...rows.slice(last + 1)].join("\n") };
  }
  if (isAlias(node)) return { reason: "the statement comes through an alias of several lines; edit by hand" };
  if (scalar.type === Scalar.BLOCK_LITERAL) {
    // One value line per source line, under the `|` header.
    const at = row(range[0]) + 1 + line;
    const text = (rows[at] ?? "").replace(/\r$/, "");
    if (!text.endsWith(lines[line]!) || text.slice(0, text.length - lines[line]!.length).trim() !== "") {
      return { reason: "cannot find the statement's own line in the block; edit by hand" };
    }
    rows.splice(at, 1);
    return { text: rows.join("\n") };
  }
  // A quoted or plain string: written anew, double-quoted, with the other lines.
  const rest = lines.filter((_, k) => k !== line);
  return { text: `${source.slice(0, range[0])}${JSON.stringify(rest.join("\n"))}${source.slice(range[1])}` };
}

function removeFlowItem(source: string, items: readonly Node[], index: number): { text: string } | { reason: string } {
  const item = items[index]!;
  if (item.anchor || (item as Scalar).tag) return { reason: "the list item has an anchor or a tag; edit by hand" };
  const [start, end] = item.range!;
  const previous = items[index - 1]?.range;
  const next = items[index + 1]?.range;
  // One item a line: its line goes, with its comma and comment.
  const from = lineStartOf(source, start);
  const newline = source.indexOf("\n", end);
  const to = newline < 0 ? source.length : newline + 1;
  if (source.slice(from, start).trim() === "" && /^\s*,?\s*(#.*)?$/.test(source.slice(end, to).replace(/\r?\n$/, ""))) {
    return { text: source.slice(0, from) + source.slice(to) };
  }
  // Else with its comma: the one before it, or for the first item the one after it.
  if (previous) return { text: source.slice(0, previous[1]) + source.slice(end) };
  if (next) return { text: source.slice(0, start) + source.slice(next[0]) };
  return { text: source.slice(0, start) + source.slice(end) };
}

type ForEdit = { doc: Document.Parsed; lineCounter: LineCounter; pair: Pair | undefined };

/** The file as the compiler reads it, refused if it cannot be edited safely at all. */
function readForEdit(source: string): ForEdit | { reason: string } {
  const { doc, lineCounter, problems } = readYaml(source);
  if (!doc || problems.length > 0) return { reason: `the file cannot be read (line ${problems[0]?.at.line ?? 1}: ${problems[0]?.message ?? "unknown"})` };
  if (doc.contents !== null && !isMap(doc.contents)) return { reason: "the file's top level is not a mapping" };
  const pair = isMap(doc.contents) ? doc.contents.items.find((p) => isScalar(p.key) && p.key.value === ANNOTATION_KEY) : undefined;
  return { doc, lineCounter, pair };
}

function checked(before: string, after: string, expected: readonly string[]): EditResult {
  const problem = editProblem(before, after, expected);
  return problem === null ? { ok: true, text: after } : fail(problem);
}

/** The `- ` of a block list item: its line (0-based) and column, if the item starts on that line. */
function dashOf(source: string, item: Node): { row: number; column: number } | null {
  const start = item.range![0];
  const lineStart = lineStartOf(source, start);
  // Between the line's start and the item: indentation, `-`, and the item's anchor or tag.
  const m = /^(\s*)-\s+(?:[&!]\S*\s+)*$/.exec(source.slice(lineStart, start));
  if (!m) return null;
  return { row: source.slice(0, lineStart).split("\n").length - 1, column: m[1]!.length };
}

function lineStartOf(source: string, offset: number): number {
  return source.lastIndexOf("\n", offset - 1) + 1;
}

/** The line index (in lines without the final empty one) where a new key goes: before a final `...`. */
function documentEnd(lines: readonly string[]): number {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.replace(/\r$/, "");
    if (/^\.\.\.(\s|$)/.test(line)) return i;
    if (line.trim() !== "" && !line.trimStart().startsWith("#")) break;
  }
  return lines.length;
}

/** "\r" when the file's lines end in CRLF: new lines end the same way. */
function lineEnding(source: string): string {
  const newline = source.indexOf("\n");
  return newline > 0 && source[newline - 1] === "\r" ? "\r" : "";
}

function keyOf(pair: Pair): Node {
  return pair.key as Node;
}

function leadingSpaces(line: string): number {
  return line.length - line.trimStart().length;
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
