// Small helpers for the compiler tests: lima.yaml builders, the pipeline with fixed host facts,
// and a compact view of diagnostics for position-checking assertions.
import { emitAnchor, type HostFacts, type PlacedVm } from "../../compiler/emit-pf.js";
import type { Diagnostic } from "../../compiler/diagnostic.js";
import type { InterfaceName, Ipv4Address, VmSpec } from "../../compiler/ir.js";
import { compileFile, compileFiles, type FileResult } from "../../compiler/pipeline.js";

/** lima.yaml with the statements as a literal block: statement i is on line 4 + i, column 3. */
export const yamlBlock = (...statements: string[]) => `networks:\n  - lima: shared\nx-limawan: |\n${statements.map((s) => `  ${s}\n`).join("")}`;

/** lima.yaml with the statements as a YAML list of double-quoted strings: line 4 + i, column 6. */
export const yamlList = (...statements: string[]) => `networks:\n  - lima: shared\nx-limawan:\n${statements.map((s) => `  - ${JSON.stringify(s)}\n`).join("")}`;

export const VM_ADDRESS = "192.168.105.2" as Ipv4Address;
export const FACTS: HostFacts = { defaultInterfaces: ["en0" as InterfaceName] };

export function compile(text: string, vm = "web", file = "lima.yaml"): FileResult {
  return compileFile({ vm, file, text });
}

/** The spec of a file that must compile; fails the test with the diagnostics otherwise. */
export function specOf(text: string, vm = "web", file = `${vm}/lima.yaml`): VmSpec {
  const result = compile(text, vm, file);
  if (!result.spec) throw new Error(`expected ${file} to compile:\n${JSON.stringify(result.diagnostics, null, 2)}`);
  return result.spec;
}

/** The anchor text for placed VMs; fails the test on emitter diagnostics. */
export function anchorOf(vms: readonly PlacedVm[], facts: HostFacts = FACTS): string {
  const emitted = emitAnchor(vms, facts);
  if (!emitted.ok) throw new Error(JSON.stringify(emitted.diagnostics, null, 2));
  return emitted.text;
}

/** The anchor text for one lima.yaml, as VM `vm` at 192.168.105.2 with en0 as default interface. */
export function anchorFor(text: string, vm = "web", facts: HostFacts = FACTS): string {
  return anchorOf([{ spec: specOf(text, vm), address: VM_ADDRESS }], facts);
}

/** Rule lines of an anchor text: everything but the `#` header comments. */
export const ruleLines = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));

/** [code, severity, line, column] of each diagnostic. */
export const where = (r: FileResult | { diagnostics: Diagnostic[] }) => r.diagnostics.map((d) => [d.code, d.severity, d.line, d.column]);

export { compileFiles };
