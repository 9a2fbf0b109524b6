// Reading lima.yaml within bounds: linear in the number of keys, duplicate keys still found,
// nesting measured before the recursive parser runs, and never an exception, whatever the
// input and however little stack the caller has left.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CODES, countDiagnostics } from "../../compiler/diagnostic.js";
import { compileFile, readAnnotation } from "../../compiler/pipeline.js";
import { MAX_NESTING, nestingBeyond, nestingBound, readYaml } from "../../compiler/read-yaml.js";

const keys = (count: number) => Array.from({ length: count }, (_, i) => `k${i}: v\n`).join("");

describe("duplicate keys", () => {
  // The yaml library's uniqueKeys took ~10 s for these 40,000 keys (389 KB); a generous bound
  // on a loaded 2-core machine still catches the quadratic path.
  // How the time grows with the keys is measured by `npm run bench` (test/bench/keys.mjs); here
  // the timeout only stops a quadratic check, which takes minutes at this size, not seconds.
  it("checks 40,000 keys and still finds the one repeated", { timeout: 60_000 }, () => {
    const text = `x-limawan: |\n  expose ssh as 2222\n${keys(40_000)}k17: again\n`;
    const result = compileFile({ vm: "web", file: "lima.yaml", text });
    expect(result.diagnostics.map((d) => [d.code, d.line, d.column, d.message])).toEqual([
      [CODES.YAML_SYNTAX, 40_003, 1, "lima.yaml is not valid YAML: Map keys must be unique"],
    ]);
  });

  it("finds them in nested and flow mappings, and keeps keys of different types apart", () => {
    const at = (text: string) => readYaml(text).problems.map((p) => [p.code, p.at.line, p.at.column]);
    expect(at("a:\n  b: 1\n  c: 2\n  b: 3\n")).toEqual([[CODES.YAML_SYNTAX, 4, 3]]);
    expect(at("a: {x: 1, y: 2, x: 3}\n")).toEqual([[CODES.YAML_SYNTAX, 1, 17]]);
    expect(at("a:\n  - b: 1\n  - b: 2\n")).toEqual([]);
    expect(at('1: a\n"1": b\ntrue: c\n"true": d\n')).toEqual([]);
    expect(at("? [a]\n: 1\n? [a]\n: 2\n")).toEqual([]); // collections as keys: equal only to themselves, as yaml's default
  });
});

describe("aliases", () => {
  // Alias.resolve walks the whole document for each alias: 8,000 took 10 s, 100,000 (700 KB) hours.
  // As above: the timeout stops the hours the library's own resolution takes, nothing finer.
  it("resolves 50,000 aliases in the annotation, each to its latest anchor", { timeout: 60_000 }, () => {
    const text = `s: &s expose ssh as 2222\nx-limawan:\n${"  - *s\n".repeat(50_000)}`;
    const result = compileFile({ vm: "web", file: "lima.yaml", text });
    // Every item after the first repeats the name `ssh`: the first 1,000 listed, the rest counted,
    // each where its text is (the anchor's statement on line 1).
    expect(countDiagnostics(result.diagnostics)).toEqual({ errors: 49_999, warnings: 0 });
    expect(result.diagnostics.slice(0, -1).every((d) => d.code === CODES.DUPLICATE_NAME && d.line === 1)).toBe(true);
    expect(result.diagnostics.at(-1)).toMatchObject({ code: CODES.TOO_MANY_DIAGNOSTICS, line: 1, column: 14, omitted: { errors: 48_999, warnings: 0 } });
    const later = compileFile({ vm: "web", file: "lima.yaml", text: "a: &s expose ssh as 2222\nb: &s expose http 80 as 8080\nx-limawan:\n  - *s\n" });
    expect(later.spec!.forwards.map((f) => f.name)).toEqual(["http"]);
  });
});

describe("nesting", () => {
  it("counts block and flow collections, not the text of scalars and comments", () => {
    const depth = (text: string) => {
      for (let limit = 0; limit < 10; limit++) if (nestingBeyond(text, limit) === null) return limit;
      return Infinity;
    };
    expect(depth("a: 1\n")).toBe(1);
    expect(depth("a:\n- x\nb: y\n")).toBe(2); // a sequence at its key's indentation is still inside it
    expect(depth("a:\n  b:\n    c: 1\n")).toBe(3);
    expect(depth("- a: 1\n  b:\n  - x\n")).toBe(3);
    expect(depth("a: [1, {b: [2]}]\n")).toBe(4);
    expect(depth("a: |\n  - - - [[[\nb: '[[[ - -'\n# [[[[\n")).toBe(1);
    expect(depth("---\na:\n  b: 1\n---\nc: 1\n")).toBe(2); // each document on its own
  });

  it("bounds the nesting from the characters alone, never below what the lexer finds", () => {
    const piece = fc.constantFrom("- ", "-", "? ", ": ", ":", "[", "]", "{", "}", ", ", "a", "b: ", "'", '"', "#", "|", "\n", "\r\n", "\r", " ", "  ", "\t", "&x ", "*x", "---\n");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (pieces) => {
        const text = pieces.join("");
        expect(nestingBeyond(text, nestingBound(text))).toBeNull();
      }),
      { numRuns: 2000 },
    );
    // A long list or flow sequence is bounded without lexing; a deep one is not.
    expect(nestingBound(`x-limawan:\n${"  - x\n".repeat(10_000)}`)).toBeLessThanOrEqual(10);
    expect(nestingBound(`x-limawan: [${Array(10_000).fill("x").join(",")}]\n`)).toBeLessThanOrEqual(10);
    expect(nestingBound(`junk:\n${"- ".repeat(5_000)}x\n`)).toBeGreaterThan(MAX_NESTING);
  });

  it("refuses before parsing: 5,000 levels (10 KB) give one diagnostic, not a stack overflow", () => {
    const text = `junk:\n${"- ".repeat(5_000)}x\n`;
    const read = readYaml(text);
    expect(read.doc).toBeNull();
    expect(read.problems.map((p) => [p.code, p.at.line, p.at.column])).toEqual([[CODES.NESTING_TOO_DEEP, 2, 2 * MAX_NESTING - 1]]);
  });

  it("never throws out of the compiler, even called with almost no stack left", () => {
    // Nesting just under the limit is parsed; call the compiler from ever deeper recursion
    // until it gets too little stack to do its work, and check it reports rather than throws.
    const text = `junk:\n${"- ".repeat(MAX_NESTING - 2)}x\nx-limawan: |\n  expose ssh as 2222\n`;
    const atDepth = <T>(levels: number, f: () => T): T => (levels === 0 ? f() : atDepth(levels - 1, f));
    const fits = (levels: number) => {
      try {
        atDepth(levels, () => 0);
        return true;
      } catch {
        return false;
      }
    };
    let ceiling = 1_000;
    while (fits(ceiling * 2)) ceiling *= 2;
    for (let step = ceiling / 2; step >= 1; step = Math.floor(step / 2)) if (fits(ceiling + step)) ceiling += step;
    // f runs at the bottom of `levels` frames; what it throws is recorded there, so an
    // exception out of the compiler is told apart from the test's own recursion running out.
    const attempt = <T>(levels: number, f: () => T): { reached: boolean; value?: T; thrown?: unknown } => {
      const out: { reached: boolean; value?: T; thrown?: unknown } = { reached: false };
      try {
        atDepth(levels, () => {
          out.reached = true;
          try {
            out.value = f();
          } catch (error) {
            out.thrown = error;
          }
        });
      } catch {
        // the test's own recursion ran out before calling f
      }
      return out;
    };
    const outcomes = new Set<string>();
    for (let spare = 10; spare < ceiling; spare = Math.ceil(spare * 1.5)) {
      const compiled = attempt(ceiling - spare, () => compileFile({ vm: "web", file: "lima.yaml", text }).diagnostics);
      const read = attempt(ceiling - spare, () => readAnnotation({ vm: "web", file: "lima.yaml", text }).sink.items);
      for (const result of [compiled, read]) {
        if (!result.reached) continue;
        expect(result.thrown).toBeUndefined();
        const diagnostics = result.value!;
        outcomes.add(diagnostics.length === 0 ? "ok" : diagnostics.map((d) => d.code).join());
        expect(diagnostics.every((d) => d.code === CODES.NESTING_TOO_DEEP && d.hint.includes("LimaWAN's own limit"))).toBe(true);
      }
    }
    expect(outcomes).toContain("ok");
  });
});
