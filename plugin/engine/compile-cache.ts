// The watcher compiles the same annotations again and again (every event re-decides every
// running VM). Two layers of reuse, both exact because the compiler is pure:
// - per file: a VM's own compile (parse, lower, validate) is kept while its lima.yaml text is
//   the same, and only the clash check against the other VMs runs again (pipeline.ts
//   againstOthers), so an event for one VM compiles only that VM;
// - per set: a compile or an emit whose inputs are all unchanged gives back the last result.
// Keyed by the inputs themselves (texts, specs, addresses, interfaces), so a changed file,
// address or held spec is always compiled afresh.
import { emitAnchor } from "../../compiler/emit-pf.js";
import { againstOthers, compileFile, compileFiles, compileOwn, type CompileOne, type OwnResult } from "../../compiler/pipeline.js";
import { DEFAULT_POLICY } from "../../compiler/validate/index.js";
import type { CompileSet } from "./desired-state.js";

/** Results kept per function: one burst's variants (a VM placed, then without those unplaced). */
const KEPT = 8;
/** Files kept: one per VM, far more VMs than one Mac runs. */
const KEPT_FILES = 64;

function memoise<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  const kept = new Map<string, R>();
  return (...args: A) => {
    const key = JSON.stringify(args, (_key, value: unknown) => (value instanceof Set ? [...(value as Set<unknown>)] : value));
    const hit = kept.get(key);
    if (hit !== undefined) {
      kept.delete(key); // most recently used last
      kept.set(key, hit);
      return hit;
    }
    const result = fn(...args);
    kept.set(key, result);
    if (kept.size > KEPT) kept.delete(kept.keys().next().value!);
    return result;
  };
}

/** compileFile, reusing each VM's own compile while its file, text and policy stay the same. */
export function fileCache(compileAlone: typeof compileOwn = compileOwn): CompileOne {
  const kept = new Map<string, { file: string; text: string; allowPrivileged: boolean; own: OwnResult }>();
  return (source, others, policy = DEFAULT_POLICY) => {
    let entry = kept.get(source.vm);
    if (!entry || entry.file !== source.file || entry.text !== source.text || entry.allowPrivileged !== policy.allowPrivileged) {
      entry = { file: source.file, text: source.text, allowPrivileged: policy.allowPrivileged, own: compileAlone(source, policy) };
    }
    kept.delete(source.vm); // most recently used last
    kept.set(source.vm, entry);
    if (kept.size > KEPT_FILES) kept.delete(kept.keys().next().value!);
    return againstOthers(entry.own, others) ?? compileFile(source, others, policy);
  };
}

export interface CompileCache { compile: CompileSet; emit: typeof emitAnchor }

export function compileCache(): CompileCache {
  const compileOne = fileCache();
  return { compile: memoise((sources, options) => compileFiles(sources, { ...options, compileFile: compileOne })), emit: memoise(emitAnchor) };
}
