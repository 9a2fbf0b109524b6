// Invariants of the compiler, checked on generated input (arbitraries in test/arbitraries.ts).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CODES } from "../../compiler/diagnostic.js";
import { emitAnchor, type PlacedVm } from "../../compiler/emit-pf.js";
import type { VmDraft, VmSpec } from "../../compiler/ir.js";
import { forwardIdentifiers } from "../../compiler/pf-names.js";
import { compileFile, compileFiles, readAnnotation, type FileResult } from "../../compiler/pipeline.js";
import { printVm } from "../../compiler/print-dsl.js";
import {
  arbitraryDslNoise,
  arbitraryMutatedStatement,
  arbitraryPlacedVms,
  arbitraryVmDraftDsl,
  arbitraryVmSpec,
  arbitraryVmSpecs,
  limaYamlOf,
  statementOfForward,
} from "../arbitraries.js";
import { FACTS, ruleLines, yamlBlock, yamlList } from "./helpers.js";

/** A draft without positions: what the statements mean, not where they were written. */
function meaning(draft: VmDraft | null): unknown {
  return JSON.parse(JSON.stringify(draft, (key, value) => (key === "at" || key === "file" ? undefined : value)));
}

function anchor(vms: readonly PlacedVm[]): string {
  const emitted = emitAnchor(vms, FACTS);
  if (!emitted.ok) throw new Error(JSON.stringify(emitted.diagnostics));
  return emitted.text;
}

const KNOWN_CODES = new Set<string>(Object.values(CODES));

/** The only diagnostics a valid spec's DSL may get: LW603 on each tcp+udp forward with limit/max. */
const expectedWarnings = (spec: VmSpec) =>
  spec.forwards.filter((f) => f.protocol === "tcp+udp" && (f.limit !== null || f.max !== null)).map((f) => ["LW603", "warning", f.line]);
const codesOf = (result: FileResult) => result.diagnostics.map((d) => [d.code, d.severity, d.line]);

/** Whatever the input: a spec exactly when annotated without errors, and well-formed diagnostics. */
function expectWellFormed(result: FileResult, text: string): void {
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  expect(result.spec !== null).toBe(result.annotated && errors.length === 0);
  const lines = text.split("\n").length;
  for (const d of result.diagnostics) {
    expect(KNOWN_CODES.has(d.code)).toBe(true);
    expect(d.file).toBe(result.file);
    expect(d.message).not.toBe("");
    expect(d.hint).not.toBe("");
    expect(d.line).toBeGreaterThanOrEqual(1);
    expect(d.line).toBeLessThanOrEqual(lines + 1);
    expect(d.column).toBeGreaterThanOrEqual(1);
  }
  if (result.spec) expect(emitAnchor([{ spec: result.spec, address: "192.168.105.2" as never }], FACTS)).toBeDefined();
}

describe("round trips", () => {
  it("printing a draft back to DSL and parsing it gives the same draft (block form)", () => {
    fc.assert(
      fc.property(arbitraryVmDraftDsl, (statements) => {
        const first = readAnnotation({ vm: "web", file: "a.yaml", text: yamlBlock(...statements) }).draft!;
        const again = readAnnotation({ vm: "web", file: "b.yaml", text: yamlBlock(...printVm(first).trimEnd().split("\n")) }).draft;
        expect(meaning(again)).toEqual(meaning(first));
      }),
      { numRuns: 150 },
    );
  });

  it("printing a draft read from a YAML list gives the same draft", () => {
    fc.assert(
      fc.property(arbitraryVmDraftDsl, (statements) => {
        const first = readAnnotation({ vm: "web", file: "a.yaml", text: yamlList(...statements) }).draft!;
        const again = readAnnotation({ vm: "web", file: "b.yaml", text: yamlList(...printVm(first).trimEnd().split("\n")) }).draft;
        expect(meaning(again)).toEqual(meaning(first));
      }),
      { numRuns: 200 },
    );
  });

  it("the DSL of any valid spec compiles back to exactly that spec, without diagnostics", () => {
    fc.assert(
      fc.property(arbitraryVmSpec(), (spec) => {
        const result = compileFile({ vm: spec.vm, file: spec.file, text: limaYamlOf(spec) });
        expect(codesOf(result)).toEqual(expectedWarnings(spec));
        expect(result.spec).toEqual(spec);
      }),
      { numRuns: 200 },
    );
  });
});

describe("the shared arbitraries", () => {
  it("keep to the interface pool and host-port window they are given", () => {
    const pool = ["en0", "en1"];
    fc.assert(
      fc.property(arbitraryVmSpecs({ interfaces: pool, hostPorts: [10_000, 12_000], maxVms: 3 }), (specs) => {
        for (const f of specs.flatMap((s) => s.forwards)) {
          for (const i of f.interfaces ?? []) expect(pool).toContain(i);
          expect(f.host.first).toBeGreaterThanOrEqual(10_000);
          expect(f.host.last).toBeLessThanOrEqual(12_000);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("determinism", () => {
  it("compiles the same lima.yaml to the same bytes", () => {
    fc.assert(
      fc.property(arbitraryVmSpec(), (spec) => {
        const once = () => anchor([{ spec: compileFile({ vm: spec.vm, file: spec.file, text: limaYamlOf(spec) }).spec!, address: "192.168.105.2" as never }]);
        expect(once()).toBe(once());
      }),
      { numRuns: 100 },
    );
  });

  it("renders several VMs to the same bytes whatever order they come in", () => {
    fc.assert(
      fc.property(
        arbitraryPlacedVms({ minVms: 2, maxVms: 5 }).chain((vms) => fc.tuple(fc.constant(vms), fc.shuffledSubarray(vms, { minLength: vms.length }))),
        ([vms, shuffled]) => {
          expect(anchor(shuffled)).toBe(anchor(vms));
        },
      ),
      { numRuns: 300 },
    );
  });
});

// Thousands of cases: each compiles in well under a millisecond, yet on a loaded 2-core machine
// a test took over vitest's 5 s default, which then measures the load, not the compiler.
describe("robustness", { timeout: 30_000 }, () => {
  const asBlock = (text: string) => `networks:\n  - lima: shared\nx-limawan: |\n${text.split("\n").map((l) => `  ${l}`).join("\n")}\n`;

  it("any string as the x-limawan block yields a spec or diagnostics, never a throw", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: "binary", maxLength: 80 }), arbitraryDslNoise), (annotation) => {
        const text = asBlock(annotation);
        expectWellFormed(compileFile({ vm: "web", file: "f.yaml", text }), text);
      }),
      { numRuns: 800 },
    );
  });

  it("any near-miss of a valid statement yields a spec or diagnostics, never a throw", () => {
    fc.assert(
      fc.property(fc.array(arbitraryMutatedStatement, { minLength: 1, maxLength: 4 }), fc.boolean(), (statements, list) => {
        const text = list ? yamlList(...statements) : yamlBlock(...statements.flatMap((s) => s.split("\n")));
        expectWellFormed(compileFile({ vm: "web", file: "f.yaml", text }), text);
      }),
      { numRuns: 500 },
    );
  });

  it("any string as the whole lima.yaml yields a result, never a throw", () => {
    const yamlish = fc
      .array(fc.oneof(fc.constantFrom("x-limawan:", " |", " >", "\n", "  ", "- ", "\"", "'", "[", "]", "{", "}", ": ", "&a ", "*a", "!!str ", "---\n", "#", "\t", "\r\n"), arbitraryDslNoise), { maxLength: 12 })
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 100 }), yamlish), (text) => {
        expectWellFormed(compileFile({ vm: "web", file: "f.yaml", text }), text);
      }),
      { numRuns: 800 },
    );
  });
});

describe("the anchor text", () => {
  // The alphabet of the templates in compiler/emit-pf.ts, read from the templates themselves:
  // letters, digits, space, `<>` around tables, `()` around dynamic interface addresses and state
  // options, `{}` around table contents, `"` around tags and labels, `:` in port ranges and labels,
  // `.` and `/` in addresses (and `S/SA`, `5/30`), `,` between state options, `*` in `port N:*`,
  // `-` in `->`, names and `max-src-conn`, `_` in PF identifiers. `#` only starts a comment line.
  const RULE_ALPHABET = /^[A-Za-z0-9 <>(){}":./,*_-]*$/;

  it("contains no byte outside the rule templates' alphabet", () => {
    fc.assert(
      fc.property(arbitraryPlacedVms(), (vms) => {
        for (const line of anchor(vms).split("\n")) expect(line.startsWith("# ") ? line.slice(2) : line).toMatch(RULE_ALPHABET);
      }),
      { numRuns: 300 },
    );
  });

  it("consists of lines of the eight template shapes only", () => {
    const T = "[A-Za-z0-9._-]{1,31}"; // table
    const G = "[A-Za-z0-9._-]{1,63}"; // tag
    const L = "[A-Za-z0-9._:-]{1,63}"; // label
    const I = "[a-z]{1,12}[0-9]{1,3}"; // interface
    const P = "[0-9]{1,5}(?::[0-9]{1,5})?"; // port or range
    const A = "[0-9]{1,3}(?:\\.[0-9]{1,3}){3}"; // address
    const shapes = [
      `table <${T}> persist`,
      `table <${T}> const persist \\{ (?:${A}(?:/[0-9]{1,2})? )+\\}`,
      `no rdr on ${I} inet proto (?:tcp|udp) from <${T}> to \\(${I}\\) port ${P}`,
      `rdr on ${I} inet proto (?:tcp|udp) from (?:any|<${T}>) to \\(${I}\\) port ${P} tag "${G}" -> ${A} port [0-9]{1,5}(?::\\*)?`,
      `block drop in(?: log)? quick on ${I} inet proto (?:tcp|udp) from <${T}> to \\(${I}\\) port ${P}`,
      `pass in(?: log)? quick on ${I} inet proto tcp from any to ${A} port ${P} tagged "${G}" flags S/SA keep state(?: \\((?:max-src-conn [0-9]+)?(?:, )?(?:max-src-conn-rate [0-9]+/[0-9]+, overload <${T}> flush global)?\\))? label "${L}"`,
      `pass in(?: log)? quick on ${I} inet proto udp from any to ${A} port ${P} tagged "${G}" keep state label "${L}"`,
      `block drop in quick on ${I} inet from any to ${A}`,
    ].map((s) => new RegExp(`^${s}$`));
    fc.assert(
      fc.property(arbitraryPlacedVms(), (vms) => {
        for (const line of ruleLines(anchor(vms))) expect(shapes.some((shape) => shape.test(line)), line).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("is the same text whether forwards say `router`, `router upnp` or neither: a router mapping is no PF rule", () => {
    fc.assert(
      fc.property(arbitraryPlacedVms(), fc.boolean(), (vms, upnp) => {
        const withRouter = (router: VmSpec["forwards"][number]["router"]) =>
          vms.map(({ spec, address }) => ({ spec: { ...spec, forwards: spec.forwards.map((f) => ({ ...f, router })) }, address }));
        const plain = anchor(withRouter(null));
        expect(anchor(withRouter({ upnp }))).toBe(plain);
        expect(anchor(vms)).toBe(plain);
      }),
      { numRuns: 200 },
    );
  });

  it("gives every forward exactly its own rules: together = the union of each forward alone", () => {
    // A VM's routed-traffic blocks (one per WAN interface) are the VM's, written once whatever
    // the number of its forwards: compared as a set, every other line as a multiset.
    const routed = (line: string) => /^block drop in quick on \S+ inet from any to [0-9.]+$/.test(line);
    fc.assert(
      fc.property(arbitraryPlacedVms({ maxVms: 3 }), (vms) => {
        const all = ruleLines(anchor(vms));
        const together = all.filter((l) => !routed(l));
        const blocks: string[] = [];
        const alone: string[] = [];
        for (const { spec, address } of vms) {
          for (const forward of spec.forwards) {
            const withBlocks = ruleLines(anchor([{ spec: { ...spec, forwards: [forward] }, address }]));
            blocks.push(...withBlocks.filter(routed));
            const lines = withBlocks.filter((l) => !routed(l));
            expect(lines.length).toBeGreaterThan(0);
            // Each rule names only this forward's tables, tag and label, and this VM's address.
            const ids = forwardIdentifiers(spec.vm, forward.name);
            for (const line of lines) {
              for (const [, table] of line.matchAll(/<([^>]+)>/g)) expect([ids.banTable, ids.sourceTable]).toContain(table);
              for (const [, tag] of line.matchAll(/tag(?:ged)? "([^"]+)"/g)) expect(tag).toBe(ids.tag);
              for (const [, label] of line.matchAll(/label "([^"]+)"/g)) expect(label).toBe(ids.label);
              for (const [, vmAddress] of line.matchAll(/(?:->|to) ([0-9.]+) port/g)) expect(vmAddress).toBe(address);
            }
            alone.push(...lines);
          }
        }
        expect([...together].sort()).toEqual(alone.sort());
        expect(all.filter(routed).sort()).toEqual([...new Set(blocks)].sort());
      }),
      { numRuns: 100 },
    );
  });
});

describe("validation", () => {
  /**
   * A forward taking one host port inside forward `i` of `spec` (its first, last or a middle
   * port, so the clash starts before, at or after the other forward's range) with a protocol that
   * meets it.
   */
  const clashing = (spec: VmSpec, i: number, into: VmSpec) => {
    const f = spec.forwards[i % spec.forwards.length]!;
    const port = f.host.first + (i % (f.host.last - f.host.first + 1));
    let name = "clash";
    for (let k = 2; into.forwards.some((x) => x.name === name); k++) name = `clash-${k}`;
    const protocol = f.protocol === "udp" ? "tcp+udp" : "tcp";
    return statementOfForward({ ...f, name: name as never, protocol, host: { first: port, last: port }, guest: { first: 80, last: 80 }, limit: null, max: null });
  };

  it("reports a host port used twice in one VM on the later line, naming the earlier forward", () => {
    fc.assert(
      fc.property(arbitraryVmSpec(), fc.nat(), (spec, i) => {
        const text = `${limaYamlOf(spec)}  ${clashing(spec, i, spec)}\n`;
        const result = compileFile({ vm: spec.vm, file: spec.file, text });
        expect(result.spec).toBeNull();
        const overlap = result.diagnostics.filter((d) => d.code === "LW104");
        expect(overlap.map((d) => d.line)).toEqual([4 + spec.forwards.length + (spec.allowRouted ? 1 : 0)]);
      }),
      { numRuns: 300 },
    );
  });

  it("reports a host port claimed by another VM, naming that VM and its file:line", () => {
    fc.assert(
      fc.property(arbitraryVmSpecs({ minVms: 2, maxVms: 2 }), fc.nat(), ([first, second], i) => {
        const f = first!.forwards[i % first!.forwards.length]!;
        const port = f.host.first + (i % (f.host.last - f.host.first + 1));
        const [a, b] = compileFiles([
          { vm: first!.vm, file: first!.file, text: limaYamlOf(first!) },
          { vm: second!.vm, file: second!.file, text: `${limaYamlOf(second!)}  ${clashing(first!, i, second!)}\n` },
        ]);
        expect(codesOf(a!)).toEqual(expectedWarnings(first!));
        expect(b!.spec).toBeNull();
        const claimed = b!.diagnostics.filter((d) => d.code === "LW501");
        expect(claimed).toHaveLength(1);
        expect(claimed[0]!.line).toBe(4 + second!.forwards.length + (second!.allowRouted ? 1 : 0));
        expect(claimed[0]!.message).toContain(`VM \`${first!.vm}\``);
        expect(claimed[0]!.message).toContain(`${first!.file}:`);
        // The VM named is right; the forward named is one of that VM's forwards on those ports.
        const named = /\(`([a-z0-9-]+)`, (.+):(\d+)\)$/.exec(claimed[0]!.message)!;
        const owner = first!.forwards.find((x) => x.name === named[1])!;
        expect(owner.line).toBe(Number(named[3]));
        expect(owner.host.first <= port && port <= owner.host.last).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("never reports an overlap for specs whose host ports are disjoint per protocol", () => {
    fc.assert(
      fc.property(arbitraryVmSpecs({ minVms: 2, maxVms: 4 }), (specs) => {
        const results = compileFiles(specs.map((spec) => ({ vm: spec.vm, file: spec.file, text: limaYamlOf(spec) })));
        expect(results.map(codesOf)).toEqual(specs.map(expectedWarnings));
        expect(results.map((r) => r.spec)).toEqual(specs);
      }),
      { numRuns: 200 },
    );
  });
});
