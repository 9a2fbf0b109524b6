import { emitAnchor } from "../../compiler/emit-pf.js";
import type { InterfaceName, Ipv4Address } from "../../compiler/ir.js";
import { compileFile, compileFiles, type FileResult } from "../../compiler/pipeline.js";

/** lima.yaml with the statements as a literal block (line 3 is the first statement, column 3). */
export const yamlBlock = (...statements: string[]) => `networks:\n  - lima: shared\nx-limawan: |\n${statements.map((s) => `  ${s}\n`).join("")}`;

export function compile(text: string, vm = "web", file = "lima.yaml"): FileResult {
  return compileFile({ vm, file, text });
}

export function anchorFor(text: string, vm = "web"): string {
  const result = compile(text, vm);
  if (!result.spec) throw new Error(JSON.stringify(result.diagnostics, null, 2));
  const emitted = emitAnchor([{ spec: result.spec, address: "192.168.105.2" as Ipv4Address }], { defaultInterfaces: ["en0" as InterfaceName] });
  if (!emitted.ok) throw new Error(JSON.stringify(emitted.diagnostics));
  return emitted.text;
}

/** [code, line, column] of each diagnostic, for position-checking assertions. */
export const where = (r: FileResult) => r.diagnostics.map((d) => [d.code, d.line, d.column]);

export { compileFiles };
