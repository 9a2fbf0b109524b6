// Pure edits of a lima.yaml's x-limawan annotation for `expose` / `unexpose`. The yaml
// Document API finds the nodes; the edit itself is a splice of whole lines, so every other
// byte of the file (comments, order, quoting, layout) stays exactly as it was. The result is
// re-parsed and checked to mean the same document apart from the annotation.
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar } from "yaml";
import { ANNOTATION_KEY } from "../compiler/extract.js";
import { readAnnotation } from "../compiler/pipeline.js";

export type EditResult = { ok: true; text: string } | { ok: false; reason: string };

const STATEMENT_KEYWORDS = ["expose", "interface", "allow"];

/** `http 80 as 8080` → `expose http 80 as 8080`; a full statement is kept as written. */
export function normaliseStatement(input: string): EditResult {
  // One line of printable text: the annotation is line-based and a newline would smuggle in a
  // second statement. Checked before spaces are folded, which would turn \n into a space.
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(input)) return { ok: false, reason: "the statement must be one line of plain text" };
  const text = input.trim().replace(/[ \t]+/g, " ");
  if (text === "") return { ok: false, reason: "the statement is empty" };
  const first = text.split(" ")[0]!;
  return { ok: true, text: STATEMENT_KEYWORDS.includes(first) ? text : `expose ${text}` };
}

export function addStatement(source: string, statement: string): EditResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter });
  if (doc.errors.length > 0) return { ok: false, reason: `the file is not valid YAML (${doc.errors[0]!.message.split("\n")[0]})` };
  if (doc.contents !== null && !isMap(doc.contents)) return { ok: false, reason: "the file's top level is not a mapping" };
  const lines = source.split("\n");
  const pair = isMap(doc.contents) ? doc.contents.items.find((p) => isScalar(p.key) && p.key.value === ANNOTATION_KEY) : undefined;

  let edited: string[];
  if (!pair) {
    // No annotation yet: a new block at the end of the file.
    const body = source.endsWith("\n") || source === "" ? lines.slice(0, -1) : lines;
    edited = [...body, `${ANNOTATION_KEY}: |`, `  ${statement}`, ""];
  } else if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) {
    const keyLine = lineCounter.linePos((pair.key as Scalar).range![0]).line - 1;
    const line = lines[keyLine]!;
    const colon = line.indexOf(":", line.indexOf(ANNOTATION_KEY) + ANNOTATION_KEY.length);
    if (colon < 0 || !/^\s*(#.*)?$/.test(line.slice(colon + 1))) return { ok: false, reason: `cannot find the end of the \`${ANNOTATION_KEY}:\` key` };
    const indent = " ".repeat(leadingSpaces(line) + 2);
    edited = [...lines.slice(0, keyLine), `${line.slice(0, colon + 1)} |${line.slice(colon + 1)}`, `${indent}${statement}`, ...lines.slice(keyLine + 1)];
  } else if (isScalar(pair.value) && pair.value.type === Scalar.BLOCK_LITERAL) {
    const header = lineCounter.linePos(pair.value.range![0]).line - 1; // 0-based line of `|`
    const keyIndent = leadingSpaces(lines[lineCounter.linePos((pair.key as Scalar).range![0]).line - 1]!);
    let last = header;
    let indent: number | null = null;
    for (let i = header + 1; i < lines.length; i++) {
      const line = lines[i]!.replace(/\r$/, "");
      if (line.trim() === "") continue;
      if (leadingSpaces(line) <= keyIndent) break;
      indent ??= leadingSpaces(line);
      last = i;
    }
    const pad = " ".repeat(indent ?? keyIndent + 2);
    edited = [...lines.slice(0, last + 1), `${pad}${statement}`, ...lines.slice(last + 1)];
  } else if (isSeq(pair.value) && !pair.value.flow) {
    const items = pair.value.items;
    const lastItem = items[items.length - 1] as Scalar | undefined;
    if (!lastItem?.range) return { ok: false, reason: "the annotation list is empty; write the first statement by hand" };
    const lastLine = lineCounter.linePos(lastItem.range[1] > 0 ? lastItem.range[1] - 1 : 0).line - 1;
    const firstLine = lines[lineCounter.linePos(lastItem.range[0]).line - 1]!;
    const dash = firstLine.indexOf("- ");
    if (dash < 0) return { ok: false, reason: "cannot find the list's `- ` to copy its layout" };
    edited = [...lines.slice(0, lastLine + 1), `${" ".repeat(dash)}- ${JSON.stringify(statement)}`, ...lines.slice(lastLine + 1)];
  } else {
    return { ok: false, reason: `\`${ANNOTATION_KEY}\` is neither a literal block (|) nor a list; edit it by hand` };
  }
  return verified(source, edited.join("\n"));
}

/** Remove the statement that defines forward NAME (its whole line). */
export function removeForward(source: string, file: string, name: string): EditResult & { names?: string[] } {
  const { draft } = readAnnotation({ vm: "edit", file, text: source });
  const names = draft?.forwards.map((f) => f.name.value) ?? [];
  const forward = draft?.forwards.find((f) => f.name.value === name);
  if (!forward) return { ok: false, reason: `no forward named \`${name}\``, names };
  const lines = source.split("\n");
  lines.splice(forward.at.line - 1, 1);
  return verified(source, lines.join("\n"));
}

/** The edit must leave valid YAML that means the same apart from the annotation. */
function verified(before: string, after: string): EditResult {
  const a = parseDocument(before);
  const b = parseDocument(after);
  if (b.errors.length > 0) return { ok: false, reason: `the edit would break the YAML (${b.errors[0]!.message.split("\n")[0]}); edit by hand` };
  const rest = (doc: ReturnType<typeof parseDocument>) => {
    const value = (doc.toJS() ?? {}) as Record<string, unknown>;
    delete value[ANNOTATION_KEY];
    return value;
  };
  if (!isDeepStrictEqual(rest(a), rest(b))) return { ok: false, reason: "the edit would change more than the annotation; edit by hand" };
  return { ok: true, text: after };
}

function leadingSpaces(line: string): number {
  return line.length - line.trimStart().length;
}
