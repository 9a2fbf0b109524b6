// The watcher compiles the same annotations again and again (every event re-decides every
// running VM): a compile or an emit whose inputs are unchanged gives back the last result.
// Keyed by the inputs themselves (texts, specs, addresses, interfaces), so a changed file,
// address or held spec is always compiled afresh. Both functions are pure, so reuse is exact.
import { emitAnchor } from "../../compiler/emit-pf.js";
import { compileFiles } from "../../compiler/pipeline.js";
import type { CompileSet } from "./desired-state.js";

/** Results kept per function: one burst's variants (a VM placed, then without those unplaced). */
const KEPT = 8;

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

export interface CompileCache { compile: CompileSet; emit: typeof emitAnchor }

export function compileCache(): CompileCache {
  return { compile: memoise(compileFiles), emit: memoise(emitAnchor) };
}
