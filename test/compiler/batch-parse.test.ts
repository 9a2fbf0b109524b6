// The parser reads annotation lines in batches (grammar rule `Lines`, one parser call per 64
// lines) and parses a line alone (`Line`) only when the batch could not: a line must mean the
// same either way, and diagnostics must come out as if every line had been parsed alone.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse, SyntaxError as PeggySyntaxError } from "../../grammar/parser.js";
import { CODES } from "../../compiler/diagnostic.js";
import { MAX_LINE_LENGTH } from "../../compiler/parse.js";
import { arbitraryDslNoise, arbitraryForwardStatement, arbitraryMutatedStatement } from "../arbitraries.js";
import { compile, yamlBlock } from "./helpers.js";

/** What `Line` makes of one line, in the batch's terms: the statement, null, or `unparsed`. */
function alone(line: string): unknown {
  try {
    return parse(line, { startRule: "Line" });
  } catch (error) {
    if (error instanceof PeggySyntaxError) return { kind: "unparsed" };
    throw error;
  }
}

/** A copy of a batch result with its spans made relative to its own line. */
function shifted(node: unknown, base: number): unknown {
  if (node === null || typeof node !== "object") return node;
  if (Array.isArray(node)) return node.map((item) => shifted(item, base));
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => {
      if (key !== "span") return [key, shifted(value, base)];
      const { start, end } = value as { start: number; end: number };
      return [key, { start: start - base, end: end - base }];
    }),
  );
}

// Annotation lines never contain a newline (extraction splits on it).
const arbitraryLine = fc
  .oneof(arbitraryForwardStatement, arbitraryMutatedStatement, arbitraryDslNoise, fc.string({ maxLength: 40 }))
  .map((line) => line.replace(/\n/g, " "));

describe("batched parsing", () => {
  it("reads every line of a batch exactly as it reads the line alone (spans included)", () => {
    fc.assert(
      fc.property(fc.array(arbitraryLine, { minLength: 1, maxLength: 150 }), (lines) => {
        const results = parse(lines.join("\n"), { startRule: "Lines" }) as unknown as unknown[];
        expect(results).toHaveLength(lines.length);
        let base = 0;
        lines.forEach((line, k) => {
          expect(shifted(results[k], base)).toEqual(alone(line));
          base += line.length + 1;
        });
      }),
      { numRuns: 300 },
    );
  });

  it("reports bad lines on both sides of a batch boundary in line order, with their columns", () => {
    // Statement i is on line 4 + i, column 3; batches hold 64 lines, so 63/64 straddle one.
    const statements = Array.from({ length: 140 }, (_, i) => `expose f${i} ${1024 + i} as ${20_000 + i}`);
    statements[0] = "expose f0 22 as";
    statements[63] = "expose f63 22 as 2222 frm 10.0.0.1";
    statements[64] = "expose f64 22 as x";
    statements[65] = `# ${"x".repeat(MAX_LINE_LENGTH)}`;
    statements[139] = "expoze f139 22 as 2222";
    const result = compile(yamlBlock(...statements));
    expect(result.diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([
      [CODES.SYNTAX, 4, 18], // the host port is missing at the end of the line
      [CODES.UNKNOWN_OPTION, 67, 25], // `frm`
      [CODES.SYNTAX, 68, 20], // `x` is no port
      [CODES.LINE_TOO_LONG, 69, 3],
      [CODES.UNKNOWN_STATEMENT, 143, 3], // `expoze`
    ]);
  });

  it("keeps every good statement and its position in a file of many batches", () => {
    const statements = Array.from({ length: 300 }, (_, i) => `expose f${i} ${1024 + i} as ${20_000 + i}`);
    const result = compile(yamlBlock(...statements));
    expect(result.diagnostics).toEqual([]);
    expect(result.spec!.forwards.map((f) => [f.name, f.line, f.host.first])).toEqual(
      statements.map((_, i) => [`f${i}`, 4 + i, 20_000 + i]),
    );
  });
});
