// Long runs of list items read from the text (compiler/yaml-runs.ts) give exactly what the yaml
// library's own parse gives: the same values, positions, lines, errors and annotation, on files
// made to trip it up (runs inside block scalars and quoted strings, at other indentations, next
// to items the library reads otherwise, a %YAML 1.1 directive, CRLF, a last line without end).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LineCounter, parseDocument, visit, type Document } from "yaml";
import { compileFile } from "../../compiler/pipeline.js";
import { readYaml } from "../../compiler/read-yaml.js";
import { ELIDED_RUN, elideRuns, restoreRuns } from "../../compiler/yaml-runs.js";

/**
 * Every node's kind, style, value, anchor and range, in document order: all the compile reads
 * of a document (extract.ts), so equal nodes, lines and problems give an equal annotation.
 */
function nodes(doc: Document.Parsed | null): unknown[] {
  const out: unknown[] = [];
  const scalar = (node: object) => ("value" in node && typeof node.value !== "object" ? node.value : null);
  if (doc) visit(doc, { Node: (_, node) => void out.push([node.constructor.name, "type" in node ? node.type : null, scalar(node), node.anchor ?? null, node.range]) });
  return out;
}

function json(doc: Document.Parsed | null): unknown {
  try {
    return doc?.toJSON();
  } catch (error) {
    return String(error); // an alias without its anchor, as the library says it
  }
}

function bothWays(text: string) {
  const fast = readYaml(text, { elideRuns: true });
  const whole = readYaml(text);
  expect(fast.problems).toEqual(whole.problems);
  expect(fast.lineCounter.lineStarts).toEqual(whole.lineCounter.lineStarts);
  expect(json(fast.doc)).toEqual(json(whole.doc));
  expect(fast.doc?.errors.map((e) => [e.code, e.pos])).toEqual(whole.doc?.errors.map((e) => [e.code, e.pos]));
  expect(nodes(fast.doc)).toEqual(nodes(whole.doc));
}

/** Items a run is made of: mostly ones the shortcut reads, now and then one it must not. */
const readable = fc.constantFrom("x", "expose", "expose ssh 22 as 2222", "a - b", "a, b [c] {d}", "it's", 'say "hi"', "yes", "no", "on", "x  ", "a*b", "a !b", '"x"', '"a: b # c"  ', "'x'", '"it\'s"', "'say \"hi\"'");
const unreadable = fc.constantFrom("Null", "true", "'it''s'", '"a\\"b"', '"a\\tb"', "'x", '"x"y', '""', "x # c", "é");
const word = fc.oneof({ weight: 60, arbitrary: readable }, { weight: 1, arbitrary: unreadable });
const oddItem = fc.constantFrom("- 42", "- 'quoted'", '- "x"', "- a: b", "- x # c", "- *a", "- &a x", "- !!str x", "- - x", "-", "- ", "- |", "-  x", "- null", "- x\t", "- .inf", "- é", "-\tx", "- TRUE");
const run = fc
  .tuple(fc.constantFrom(0, 2, 4), fc.array(word, { minLength: ELIDED_RUN - 2, maxLength: ELIDED_RUN + 6 }))
  .map(([indent, words]) => words.map((w) => `${" ".repeat(indent)}- ${w}`).join("\n"));
const line = fc.oneof(
  { weight: 4, arbitrary: run },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(0, 2, 4), oddItem).map(([indent, item]) => `${" ".repeat(indent)}${item}`) },
  { weight: 2, arbitrary: fc.constantFrom("x-limawan:", "x-limawan: |", "junk: |", 'junk: "', '"', "k: v", "k:", "  k: v", "", "# c", "  # c", "---", "...", "%YAML 1.1", "[", "]", "  more text", "x-limawan: &a", "x-limawan: *a") },
);
const file = fc
  .tuple(fc.boolean(), fc.array(line, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 4 }), fc.boolean())
  .map(([annotated, lines, crlf, end]) => {
    const text = (annotated ? ["x-limawan:", ...lines] : lines).join("\n") + (end ? "\n" : "");
    return crlf === 0 ? text.replace(/\n/g, "\r\n") : text;
  });

/** Whether a file's runs are read from the text (rather than the whole file parsed after all). */
function shortcut(text: string): boolean {
  const elided = elideRuns(text);
  if (!elided) return false;
  const lines = new LineCounter();
  return restoreRuns(parseDocument(elided.text, { lineCounter: lines, uniqueKeys: false }), elided, lines, new LineCounter());
}

describe("long runs of list items", () => {
  it("are read exactly as the yaml library reads them", () => {
    let taken = 0;
    fc.assert(
      fc.property(file, (text) => {
        bothWays(text);
        if (shortcut(text)) taken++;
      }),
      { numRuns: 150 },
    );
    // The comparison means something only where the shortcut was taken.
    expect(taken).toBeGreaterThan(12); // some 20–45 of 150
  });

  it("are parsed whole where a line break does not end an item: in a flow collection, a quoted string, a block scalar", () => {
    const items = "- x\n".repeat(ELIDED_RUN + 2);
    for (const text of [`[\n- "it's"\n${items}`, `k: "\n${items}"\n`, `k: |\n${items.replace(/^/gm, "  ")}`, `k: a\n${items.replace(/^/gm, "  ")}`]) {
      expect(shortcut(text), text).toBe(false);
      bothWays(text);
    }
  });

  it("are taken from the text for a long list of one-word items, the error after it where the library puts it", () => {
    // The speed is the bench's (test/bench/bad-lines.mjs); this is that the shortcut is taken.
    const text = `a: 1\nx-limawan:\n${"  - x\n".repeat(5_000)}b: [1\n`;
    expect(elideRuns(text)?.cuts.map((cut) => cut.elided.length)).toEqual([4_998]);
    expect(shortcut(text)).toBe(true);
    bothWays(text);
    const result = compileFile({ vm: "web", file: "lima.yaml", text });
    // The unclosed `[` of line 5,003 is reported at the end of the input, line 5,004.
    expect(result.diagnostics.map((d) => [d.code, d.line])).toEqual([["LW001", 5_004]]);
  });
});
