// The watcher's compile reuse (plugin/engine/compile-cache.ts): an event for one VM compiles
// only that VM, and reuse never changes a result — every sequence of edits compiles exactly as
// the plain compiler does.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileFiles, compileOwn, type CompileSetOptions, type SourceFile } from "../../compiler/pipeline.js";
import { compileCache, fileCache } from "../../plugin/engine/compile-cache.js";
import { arbitraryAnnotation, arbitraryMutatedStatement } from "../arbitraries.js";
import { yamlBlock } from "../compiler/helpers.js";

const VMS = ["a", "b", "c"] as const;
const source = (vm: string, text: string): SourceFile => ({ vm, file: `${vm}/lima.yaml`, text });

/** A VM's annotation: valid statements from one of a few bases (so VMs often clash), maybe a broken line. */
const annotation = fc
  .tuple(fc.constantFrom(10_000, 10_001, 10_003, 20_000), arbitraryAnnotation(0, 4), fc.option(arbitraryMutatedStatement, { nil: undefined }), fc.boolean())
  .map(([base, { statements }, broken, annotated]) => {
    const lines = statements.map((s) => s.replace(/ as (\d+)(-(\d+))?/, (_m, first: string, _r, last?: string) => ` as ${base + Number(first)}${last ? `-${base + Number(last)}` : ""}`));
    if (broken !== undefined) lines.push(broken);
    return annotated ? yamlBlock(...lines) : "images: []\n";
  });

/** One step of a watcher's life: some VMs' files now read so, compiled with these options. */
const step = fc.record({
  texts: fc.tuple(annotation, annotation, annotation),
  present: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
  claims: fc.boolean(),
  allowPrivileged: fc.boolean(),
  keepLastValid: fc.boolean(),
});

describe("compile reuse", () => {
  it("compiles every sequence of edits exactly as the plain compiler does", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), (steps) => {
        const cache = compileCache();
        let previous: ReturnType<typeof compileFiles> = [];
        for (const { texts, present, claims, allowPrivileged, keepLastValid } of steps) {
          const sources = VMS.flatMap((vm, i) => (present[i] ? [source(vm, texts[i]!)] : []));
          // What the watcher holds: each VM's spec from the step before.
          const held = sources.map((s) => previous.find((r) => r.vm === s.vm)?.spec ?? null);
          const options: CompileSetOptions = { claims, keepLastValid, held, policy: { allowPrivileged } };
          const reused = cache.compile(sources, options);
          expect(reused).toEqual(compileFiles(sources, options));
          previous = reused;
        }
      }),
      { numRuns: 60 },
    );
  });

  it("a clash past the listed diagnostics is counted as the plain compiler counts it", () => {
    // 1,000 warnings (a source wider than the VM's network) fill the list; the clash comes after.
    const warned = source("b", yamlBlock(...Array.from({ length: 1000 }, (_, i) => `expose f${i} ${2000 + i} as ${20_000 + i} from 10.0.0.1/8`), "expose ssh 22 as 2222"));
    const sources = [source("a", yamlBlock("expose ssh 22 as 2222")), warned];
    const plain = compileFiles(sources);
    expect(plain[1]!.diagnostics.at(-1)).toMatchObject({ code: "LW008", omitted: { errors: 1, warnings: 0 } });
    expect(compileCache().compile(sources, {})).toEqual(plain);
  });

  it("compiles a VM again only when its own file changed, whatever the others did", () => {
    const compiled: string[] = [];
    const compileOne = fileCache((s, policy) => {
      compiled.push(s.vm);
      return compileOwn(s, policy);
    });
    const run = (sources: SourceFile[]) => compileFiles(sources, { compileFile: compileOne });
    const a = source("a", yamlBlock("expose ssh 22 as 2222"));
    const b = source("b", yamlBlock("expose http 80 as 8080"));
    const c = source("c", yamlBlock("expose https 443 as 8443"));

    run([a, b, c]);
    expect(compiled.splice(0)).toEqual(["a", "b", "c"]);
    // b edited: only b is read again; a and c keep theirs, and are still checked against b.
    const clashing = source("b", yamlBlock("expose http 80 as 8443"));
    const results = run([a, clashing, c]);
    expect(compiled.splice(0)).toEqual(["b"]);
    expect(results.map((r) => r.spec !== null)).toEqual([true, true, false]);
    expect(results[2]!.diagnostics.map((d) => d.code)).toEqual(["LW501"]);
    // c stops (its file leaves the set), then starts again unchanged: nothing is read.
    run([a, clashing]);
    run([a, clashing, c]);
    expect(compiled).toEqual([]);
  });
});
