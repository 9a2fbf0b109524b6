// One golden file per sample, with fixed host facts: VM address 192.168.105.2, default WAN
// interface en0, VM name = the sample's stem (samples/lima.yaml is the README's `web`). A sample
// that does not compile gets its rendered diagnostics instead, sorted as the CLI prints them.
//
// The compiler is passed in: update.mjs hands over the built dist/compiler/*.js, the golden test
// the TypeScript sources, so both render through this one function.
import { readdirSync } from "node:fs";
import path from "node:path";

export const GOLDEN_VM_ADDRESS = "192.168.105.2";
export const GOLDEN_INTERFACES = ["en0"];

/** VM name for a sample: its file name without `.yaml`, except the README's `lima.yaml` → `web`. */
export function vmNameFor(stem) {
  return stem === "lima" ? "web" : stem;
}

/** The sample files (`*.yaml` in samplesDir), sorted. */
export function sampleFiles(samplesDir) {
  return readdirSync(samplesDir).filter((f) => f.endsWith(".yaml")).sort();
}

/** Is this file in test/golden/ one that goldenFor writes? */
export function isGoldenOutput(file) {
  return file.endsWith(".pf") || file.endsWith(".diagnostics.txt");
}

/**
 * @param compiler {{ compileFile: Function, emitAnchor: Function, renderDiagnostics: Function, sortDiagnostics: Function }}
 * @param sampleFile the sample's file name, e.g. `lima.yaml`
 * @param text the sample's contents
 * @returns {{ name: string, text: string }} the golden file's name in test/golden/ and its contents
 */
export function goldenFor(compiler, sampleFile, text) {
  const stem = path.basename(sampleFile, ".yaml");
  const file = `samples/${stem}.yaml`;
  const result = compiler.compileFile({ vm: vmNameFor(stem), file, text });
  if (!result.spec) {
    const rendered = compiler.renderDiagnostics(compiler.sortDiagnostics(result.diagnostics), new Map([[file, text]]));
    return { name: `${stem}.diagnostics.txt`, text: `${rendered}\n` };
  }
  const emitted = compiler.emitAnchor([{ spec: result.spec, address: GOLDEN_VM_ADDRESS }], { defaultInterfaces: GOLDEN_INTERFACES });
  if (!emitted.ok) throw new Error(`${file}: ${JSON.stringify(emitted.diagnostics)}`);
  return { name: `${stem}.pf`, text: emitted.text };
}
