import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emitAnchor } from "../../compiler/emit-pf.js";
import type { InterfaceName, Ipv4Address, VmDraft, VmSpec } from "../../compiler/ir.js";
import { compileFile, readAnnotation } from "../../compiler/pipeline.js";
import { printVm } from "../../compiler/print-dsl.js";
import { arbitraryAnnotation, arbitraryDslNoise } from "../arbitraries.js";
import { yamlBlock } from "./helpers.js";

const facts = { defaultInterfaces: ["en0" as InterfaceName] as [InterfaceName] };
const address = "192.168.105.2" as Ipv4Address;

/** A draft without positions: what the statements mean, not where they were written. */
function meaning(draft: VmDraft | null): unknown {
  return JSON.parse(JSON.stringify(draft, (key, value) => (key === "at" || key === "file" ? undefined : value)));
}

function specOf(statements: string[], vm = "web"): VmSpec {
  const r = compileFile({ vm, file: `${vm}.yaml`, text: yamlBlock(...statements) });
  if (!r.spec) throw new Error(JSON.stringify(r.diagnostics));
  return r.spec;
}

function anchorLines(specs: VmSpec[]): string[] {
  const emitted = emitAnchor(specs.map((spec) => ({ spec, address })), facts);
  if (!emitted.ok) throw new Error(JSON.stringify(emitted.diagnostics));
  return emitted.text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

describe("compiler properties", () => {
  it("printing a draft back to DSL and parsing it gives the same draft", () => {
    fc.assert(
      fc.property(arbitraryAnnotation(), ({ statements }) => {
        const first = readAnnotation({ vm: "web", file: "a.yaml", text: yamlBlock(...statements) }).draft!;
        const again = readAnnotation({ vm: "web", file: "b.yaml", text: yamlBlock(...printVm(first).trimEnd().split("\n")) }).draft;
        expect(meaning(again)).toEqual(meaning(first));
      }),
      { numRuns: 300 },
    );
  });

  it("compiling is deterministic, whatever the order the VMs come in", () => {
    fc.assert(
      fc.property(arbitraryAnnotation(10_000, 4), arbitraryAnnotation(30_000, 4), ({ statements: a }, { statements: b }) => {
        const specs = [specOf(a, "alpha"), specOf(b, "beta")];
        expect(anchorLines(specs)).toEqual(anchorLines([...specs].reverse()));
        expect(anchorLines(specs)).toEqual(anchorLines(specs));
      }),
      { numRuns: 200 },
    );
  });

  it("any text yields a spec or diagnostics, never a throw", () => {
    const asBlock = fc.property(arbitraryDslNoise, (text) => {
      const r = compileFile({ vm: "web", file: "f.yaml", text: `x-limawan: |\n${text.split("\n").map((l) => `  ${l}`).join("\n")}\n` });
      expect(r.spec !== null || r.diagnostics.length > 0 || !r.annotated || r.draft?.forwards.length === 0).toBe(true);
    });
    fc.assert(asBlock, { numRuns: 4000 });
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        compileFile({ vm: "web", file: "f.yaml", text });
      }),
      { numRuns: 3000 },
    );
  });

  it("no emitted line has a character outside the rule templates' alphabet", () => {
    // Letters, digits, space and the punctuation the templates in emit-pf.ts write:
    // < > ( ) { } for tables, dynamic addresses, lists and state options; " for tags and labels;
    // : for ranges and labels; . / for addresses; , in option lists; * in `port N:*`; - and _ in
    // names and `->`, `max-src-conn`; # only in the leading comment lines.
    const alphabet = /^[A-Za-z0-9 <>(){}":./,*_-]*$/;
    fc.assert(
      fc.property(arbitraryAnnotation(), ({ statements }) => {
        for (const line of anchorLines([specOf(statements)])) expect(line).toMatch(alphabet);
      }),
      { numRuns: 300 },
    );
  });

  it("every forward yields exactly its rules and nothing else", () => {
    fc.assert(
      fc.property(arbitraryAnnotation(), ({ statements, shapes }) => {
        const together = anchorLines([specOf(statements)]);
        const alone = statements.map((s) => anchorLines([specOf([s])]));
        expect([...together].sort()).toEqual(alone.flat().sort());
        alone.forEach((lines, i) => {
          for (const line of lines) {
            // Each rule names only its own forward's tag, label and tables.
            const ids = [...line.matchAll(/lw_web_([a-z0-9-]+?)(?:_ban|_src)?(?=[">])|limawan:web:([a-z0-9-]+)(?=")/g)].map((m) => m[1] ?? m[2]);
            for (const id of ids) expect(id).toBe(shapes[i]!.name);
          }
        });
      }),
      { numRuns: 200 },
    );
  });
});
