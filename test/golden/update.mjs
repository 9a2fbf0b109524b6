// `npm run golden`: rewrite test/golden/ from the BUILT compiler (dist/), one file per sample:
// `<stem>.pf` for a sample that compiles, `<stem>.diagnostics.txt` for one that does not.
// Golden files whose sample is gone are removed. Review the diff before committing: these files
// are the compiler's expected output, and test/compiler/golden.test.ts holds the compiler to them.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sortDiagnostics } from "../../dist/compiler/diagnostic.js";
import { emitAnchor } from "../../dist/compiler/emit-pf.js";
import { compileFile } from "../../dist/compiler/pipeline.js";
import { renderDiagnostics } from "../../dist/compiler/render-diagnostics.js";
import { goldenFor, isGoldenOutput, sampleFiles } from "./render.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const samples = path.join(here, "..", "..", "samples");
const compiler = { compileFile, emitAnchor, renderDiagnostics, sortDiagnostics };

const written = new Set();
for (const sample of sampleFiles(samples)) {
  const { name, text } = goldenFor(compiler, sample, readFileSync(path.join(samples, sample), "utf8"));
  const target = path.join(here, name);
  let before = null;
  try {
    before = readFileSync(target, "utf8");
  } catch {
    // a new golden file
  }
  writeFileSync(target, text);
  written.add(name);
  console.log(`${before === text ? "unchanged" : before === null ? "created  " : "CHANGED  "} test/golden/${name}`);
}
for (const file of readdirSync(here).filter(isGoldenOutput)) {
  if (!written.has(file)) {
    rmSync(path.join(here, file));
    console.log(`REMOVED   test/golden/${file} (its sample is gone)`);
  }
}
