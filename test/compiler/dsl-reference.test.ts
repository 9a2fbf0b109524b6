// docs/dsl.md is checked against the compiler, so it cannot drift: every diagnostic code the
// compiler has is shown there with an example that gets exactly that code, every example marked
// `ok` compiles, and every statement and option of the grammar is in its tables.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CODES, type Diagnostic } from "../../compiler/diagnostic.js";
import { compileFiles, type SourceFile } from "../../compiler/pipeline.js";

const doc = readFileSync(new URL("../../docs/dsl.md", import.meta.url), "utf8");
const grammar = readFileSync(new URL("../../grammar/limawan.peggy", import.meta.url), "utf8");

interface Example { expect: string; vm: string; after?: string; generate?: string; text: string; line: number }

function examples(): Example[] {
  const out: Example[] = [];
  const fence = /^```lima\.yaml ([^\n]*)\n([\s\S]*?)^```$/gm;
  for (const m of doc.matchAll(fence)) {
    const [expected, ...attrs] = m[1]!.trim().split(/\s+/);
    const attr = Object.fromEntries(attrs.map((a) => a.split("=") as [string, string]));
    out.push({ expect: expected!, vm: attr.vm ?? "web", after: attr.after, generate: attr.generate, text: m[2]!, line: doc.slice(0, m.index).split("\n").length });
  }
  return out;
}

/** Files too large or too deep to show in a page, made as the page describes them. */
function generated(kind: string): string {
  switch (kind) {
    case "long-line":
      return `x-limawan: |\n  expose ssh as 2222 ${"from 203.0.113.7 ".repeat(70)}\n`;
    case "large-file":
      return `junk: "${"x".repeat(1024 * 1024)}"\nx-limawan: |\n  expose ssh as 2222\n`;
    case "deep-nesting":
      return `junk:\n${Array.from({ length: 120 }, (_, i) => `${"  ".repeat(i)}- `).join("\n")}x\nx-limawan: |\n  expose ssh as 2222\n`;
    case "many-warnings":
      return `x-limawan: |\n${Array.from({ length: 1001 }, (_, i) => `  expose f${i} ${2000 + i} as ${2000 + i} from 10.0.0.1/8\n`).join("")}`;
    default:
      throw new Error(`no generator for ${kind}`);
  }
}

function compileExample(example: Example, earlier: ReadonlyMap<string, SourceFile>): Diagnostic[] {
  const source = { vm: example.vm, file: `docs/dsl.md:${example.line}`, text: example.generate ? generated(example.generate) : example.text };
  const before = example.after ? earlier.get(example.after) : undefined;
  if (example.after && !before) throw new Error(`docs/dsl.md:${example.line}: after=${example.after} names no earlier example`);
  const results = compileFiles(before ? [before, source] : [source]);
  return results.at(-1)!.diagnostics;
}

describe("docs/dsl.md", () => {
  const all = examples();
  const earlier = new Map<string, SourceFile>();

  it("has examples, each getting what it says: no error for `ok`, exactly its code otherwise", () => {
    expect(all.length).toBeGreaterThan(35);
    for (const example of all) {
      const diagnostics = compileExample(example, earlier);
      const errors = diagnostics.filter((d) => d.severity === "error").map((d) => d.code);
      const where = `docs/dsl.md:${example.line} (${example.expect})`;
      if (example.expect === "ok") {
        expect(errors, where).toEqual([]);
        earlier.set(example.vm, { vm: example.vm, file: `docs/dsl.md:${example.line}`, text: example.text });
      } else {
        const codes = diagnostics.map((d) => d.code);
        expect(codes, where).toContain(example.expect);
        // Exactly that problem: no other error beside it.
        expect(errors.filter((c) => c !== example.expect), where).toEqual([]);
      }
    }
  });

  it("shows every diagnostic code the compiler has, under its own heading", () => {
    const shown = new Set(all.map((e) => e.expect));
    for (const code of Object.values(CODES)) {
      expect(shown.has(code), `${code} has no example in docs/dsl.md`).toBe(true);
      expect(doc, code).toMatch(new RegExp(`^### ${code}: `, "m"));
    }
    const headings = [...doc.matchAll(/^### (LW\d{3}):/gm)].map((m) => m[1]);
    expect(headings.filter((c) => !(Object.values(CODES) as string[]).includes(c!)), "headings for codes that do not exist").toEqual([]);
  });

  it("lists every statement and option the grammar reads", () => {
    const allows = [...grammar.matchAll(/"allow" !WordChar __ "([a-z]+)"/g)].map((m) => `allow ${m[1]}`);
    const options = /OptionKeyword = ([^\n]+)/.exec(grammar)![1]!.match(/"([a-z]+)"/g)!.map((o) => o.slice(1, -1));
    const statements = /StatementKeyword = ([^\n]+)/.exec(grammar)![1]!.match(/"([a-z]+)"/g)!.map((s) => s.slice(1, -1));
    expect(allows.sort()).toEqual(["allow from", "allow privileged", "allow routed"]);
    for (const statement of [...statements.filter((s) => s !== "allow"), ...allows]) expect(doc, statement).toMatch(new RegExp(`^\\| \`${statement}\\b`, "m"));
    for (const option of options) expect(doc, option).toMatch(new RegExp(`^\\| \`${option}\\b`, "m"));
  });
});
