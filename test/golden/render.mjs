// One golden per sample, with fixed host facts: VM 192.168.105.2, default interface en0,
// VM name = the sample's stem (samples/lima.yaml is the README's `web`). A sample with errors
// gets its rendered diagnostics instead of rules.
import path from "node:path";
import { emitAnchor } from "../../dist/compiler/emit-pf.js";
import { compileFile } from "../../dist/compiler/pipeline.js";
import { renderDiagnostics } from "../../dist/compiler/render-diagnostics.js";

export function goldenFor(fullPath, text) {
  const stem = path.basename(fullPath, ".yaml");
  const file = `samples/${stem}.yaml`;
  const result = compileFile({ vm: stem === "lima" ? "web" : stem, file, text });
  if (!result.spec) return { name: `${stem}.diagnostics.txt`, text: `${renderDiagnostics(result.diagnostics, new Map([[file, text]]))}\n` };
  const emitted = emitAnchor([{ spec: result.spec, address: "192.168.105.2" }], { defaultInterfaces: ["en0"] });
  if (!emitted.ok) throw new Error(`${file}: ${JSON.stringify(emitted.diagnostics)}`);
  return { name: `${stem}.pf`, text: emitted.text };
}
