// The compiler's output for every sample in samples/, compared byte for byte with the reviewed
// files in test/golden/. After an intended change: `npm run golden`, then review the diff.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { sortDiagnostics } from "../../compiler/diagnostic.js";
import { emitAnchor } from "../../compiler/emit-pf.js";
import { compileFile } from "../../compiler/pipeline.js";
import { renderDiagnostics } from "../../compiler/render-diagnostics.js";
// @ts-ignore plain ESM shared with test/golden/update.mjs
import { goldenFor, isGoldenOutput, sampleFiles } from "../golden/render.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const goldenDir = path.join(root, "test", "golden");
const samples = sampleFiles(path.join(root, "samples")) as string[];
// The TypeScript sources, not dist/: the test holds the code being edited to the golden files.
const compiler = { compileFile, emitAnchor, renderDiagnostics, sortDiagnostics };
const HOW_TO_UPDATE = "run `npm run golden` and review the diff (git diff test/golden/) before committing";

const goldenOf = (sample: string) => goldenFor(compiler, sample, readFileSync(path.join(root, "samples", sample), "utf8")) as { name: string; text: string };

describe("golden output", () => {
  it.each(samples)("samples/%s gives exactly its golden file", (sample) => {
    const { name, text } = goldenOf(sample);
    let golden: string;
    try {
      golden = readFileSync(path.join(goldenDir, name), "utf8");
    } catch {
      throw new Error(`test/golden/${name} is missing: ${HOW_TO_UPDATE}`);
    }
    expect(text, `test/golden/${name} differs from the compiler's output: ${HOW_TO_UPDATE}`).toBe(golden);
  });

  it("has a sample for every golden file", () => {
    const expected = samples.map((s) => goldenOf(s).name).sort();
    const present = readdirSync(goldenDir).filter(isGoldenOutput).sort();
    expect(present, `stale or missing golden files: ${HOW_TO_UPDATE}`).toEqual(expected);
  });

  it("keeps a rules file for each sample that compiles and diagnostics for broken.yaml only", () => {
    expect(samples.map((s) => goldenOf(s).name)).toEqual(samples.map((s) => (s === "broken.yaml" ? "broken.diagnostics.txt" : s.replace(/\.yaml$/, ".pf"))));
  });
});
