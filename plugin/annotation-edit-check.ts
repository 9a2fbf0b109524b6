// Whether an edit of lima.yaml did exactly what `expose`/`unexpose` meant, read twice: by the
// yaml library (as LimaWAN reads the file) and line by line as libyaml breaks lines (as Lima
// reads it). Pure; a refusal says why.
import { isMap, isScalar, visit, type Document, type Node, type Pair } from "yaml";
import { DiagnosticSink } from "../compiler/diagnostic.js";
import { ANNOTATION_KEY, extractAnnotation } from "../compiler/extract.js";
import { aliasResolver, readYaml } from "../compiler/read-yaml.js";

/** The annotation's statement lines, blank and comment-only lines left out. */
export function statementLines(source: string): string[] {
  const { lines } = extractAnnotation(source, new DiagnosticSink("edit"));
  return lines.map((line) => line.text).filter((text) => text.trim() !== "" && !text.trim().startsWith("#"));
}

/**
 * null if `after` is `before` with its annotation now holding exactly `expected` and every other
 * byte unchanged, to LimaWAN and to Lima alike; else why not.
 */
export function editProblem(before: string, after: string, expected: readonly string[]): string | null {
  const read = readYaml(after);
  if (!read.doc || read.problems.length > 0) return `the edit would break the YAML (${read.problems[0]?.message ?? "unreadable"}); edit by hand`;
  const old = readYaml(before).doc!;
  const a = topLevel(old);
  const b = topLevel(read.doc);
  if (!b) return "the edit would change the file's top level; edit by hand";

  // Everything outside the annotation, byte for byte: the changed bytes lie inside its lines.
  let prefix = 0;
  while (prefix < before.length && prefix < after.length && before[prefix] === after[prefix]) prefix++;
  let suffix = 0;
  while (suffix < before.length - prefix && suffix < after.length - prefix && before[before.length - 1 - suffix] === after[after.length - 1 - suffix]) suffix++;
  const within = (text: string, pair: Pair | undefined, from: number, to: number) => {
    // A line break that ends the line before the annotation (a last line without one) is part of it.
    while (from < to && (text[from] === "\r" || text[from] === "\n")) from++;
    return from === to || (pair !== undefined && from >= lineStart(text, pairStart(pair)) && to <= lineEnd(text, pairEnd(pair)));
  };
  if (!within(before, a?.annotation, prefix, before.length - suffix) || !within(after, b.annotation, prefix, after.length - suffix)) {
    return "the edit would change more than the annotation; edit by hand";
  }
  const others = (text: string, pairs: Pair[]) => pairs.map((pair) => text.slice(pairStart(pair), pairEnd(pair, 1)));
  if (JSON.stringify(others(before, a?.others ?? [])) !== JSON.stringify(others(after, b.others))) {
    return "the edit would change more than the annotation; edit by hand";
  }

  const alias = aliasChanged(before, old, a?.annotation, after, read.doc, b.annotation);
  if (alias !== null) return `another key refers to the annotation through the alias \`*${alias}\` and would change with it; edit by hand`;

  const statements = statementLines(after);
  if (JSON.stringify(statements) !== JSON.stringify(expected)) return "the edit would not leave the annotation's statements as intended; edit by hand";
  return limaReadsTheSame(before, after);
}

// libyaml (Lima's YAML reader) breaks lines at all of these; the yaml library only at \n and \r\n.
const LIBYAML_ONLY_BREAK = /\r(?!\n)|[\u0085\u2028\u2029]/g;
const LIMA_READS_OTHERWISE = "Lima would read the edited file differently outside the annotation (a character it takes as a line break); edit by hand";

/**
 * The second reading: the file as Lima reads it, broken into lines where libyaml breaks them.
 * Its top-level keys and their values outside the annotation must be what they were, so no
 * character the yaml library reads as text can start a new lima.yaml key for Lima; and the
 * edit may add no line break only libyaml sees. Judged by what the file says, not by its layout:
 * `limactl edit --set` writes lists in column 0 (`x-limawan:` then `- …`), and that is one key.
 */
export function limaReadsTheSame(before: string, after: string): string | null {
  const count = (text: string) => text.match(LIBYAML_ONLY_BREAK)?.length ?? 0;
  if (count(after) > count(before)) return LIMA_READS_OTHERWISE;
  const was = keysOutsideAnnotation(before);
  const now = keysOutsideAnnotation(after);
  if (was === null || now === null || JSON.stringify(was) !== JSON.stringify(now)) return LIMA_READS_OTHERWISE;
  return null;
}

/**
 * Every top-level key but the annotation, with its value as written, in the file read with
 * libyaml's line breaks; null when that reading is not one mapping without errors. Each break
 * only libyaml sees is one character, replaced by \n: offsets stay those of the file.
 */
function keysOutsideAnnotation(text: string): Array<[string, string]> | null {
  const asLima = text.replace(LIBYAML_ONLY_BREAK, "\n");
  const { doc, problems } = readYaml(asLima);
  if (!doc || problems.length > 0) return null;
  const top = topLevel(doc);
  if (!top) return null;
  return top.others.map((pair) => {
    const key = pair.key as Node | null;
    const value = pair.value as Node | null;
    const keyText = key?.range ? asLima.slice(key.range[0], key.range[1]) : "";
    const valueText = value?.range ? asLima.slice(value.range[0], value.range[1]) : "";
    return [keyText, valueText];
  });
}

/** An alias outside the annotation whose node reads differently after the edit (or is gone), or null. */
function aliasChanged(before: string, old: Document.Parsed, oldPair: Pair | undefined, after: string, doc: Document.Parsed, pair: Pair | undefined): string | null {
  const targets = (text: string, d: Document.Parsed, annotation: Pair | undefined) => {
    const [start, end] = annotation ? [pairStart(annotation), pairEnd(annotation)] : [0, 0];
    const resolve = aliasResolver(d);
    const out: { alias: string; text: string | null }[] = [];
    visit(d, {
      Alias(_, alias) {
        if (alias.range && alias.range[0] >= start && alias.range[0] < end) return; // the annotation's own
        const target = resolve(alias);
        out.push({ alias: alias.source, text: target?.range ? text.slice(target.range[0], target.range[1]) : null });
      },
    });
    return out;
  };
  const was = targets(before, old, oldPair);
  const now = targets(after, doc, pair);
  const changed = was.find((entry, i) => entry.text !== now[i]?.text);
  return changed ? changed.alias : null;
}

/** The top-level mapping's annotation pair and the others, or null if the top level is not a mapping. */
function topLevel(doc: Document.Parsed): { annotation: Pair | undefined; others: Pair[] } | null {
  if (doc.contents === null) return { annotation: undefined, others: [] };
  if (!isMap(doc.contents)) return null;
  const annotations = doc.contents.items.filter((pair) => isScalar(pair.key) && pair.key.value === ANNOTATION_KEY);
  if (annotations.length > 1) return null;
  return { annotation: annotations[0], others: doc.contents.items.filter((pair) => !annotations.includes(pair)) };
}

function pairStart(pair: Pair): number {
  return (pair.key as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
}

/** Where the pair ends: with what follows its value on the line (2), or where its value ends (1). */
function pairEnd(pair: Pair, end: 1 | 2 = 2): number {
  const key = (pair.key as { range?: [number, number, number] } | null)?.range;
  const value = (pair.value as { range?: [number, number, number] } | null)?.range;
  return Math.max(key?.[end] ?? 0, value?.[end] ?? 0);
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** The end of the line holding the character before `offset` (a block scalar's range ends on the next line). */
function lineEnd(text: string, offset: number): number {
  const end = text.indexOf("\n", Math.max(0, offset - 1));
  return end < 0 ? text.length : end + 1;
}
