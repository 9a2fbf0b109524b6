// PF identifiers for a forward: tables (≤31 characters, PF_TABLE_NAME_SIZE 32), tags and
// labels (≤63, PF_TAG_NAME_SIZE / PF_RULE_LABEL_SIZE 64) — PF-FACTS.md §6–7. Too-long names
// are shortened deterministically (prefix + hash of the full name); collisions between
// shortened names are reported by the emitter, never silently merged.
import type { ForwardName, VmName } from "./ir.js";

export const MAX_TABLE_NAME = 31;
export const MAX_TAG_NAME = 63;
export const MAX_LABEL = 63;

export interface ForwardIdentifiers {
  /** Overload table: sources that broke `limit`. Declared persist, never initialised. */
  banTable: string;
  /** Allow-list table for `from`. */
  sourceTable: string;
  /** Links the rdr rule to its pass rule. */
  tag: string;
  /** Counter label on the pass rules; `status` reads counters by it. */
  label: string;
}

export function forwardIdentifiers(vm: VmName, name: ForwardName): ForwardIdentifiers {
  const base = `lw_${vm}_${name}`;
  return {
    banTable: shorten(base, "_ban", MAX_TABLE_NAME),
    sourceTable: shorten(base, "_src", MAX_TABLE_NAME),
    tag: shorten(base, "", MAX_TAG_NAME),
    label: shorten(`limawan:${vm}:${name}`, "", MAX_LABEL),
  };
}

/**
 * Whether forwardIdentifiers would shorten any of the forward's names, from lengths alone (no
 * strings built: the emitter asks this of every forward before deciding to check collisions).
 */
export function anyShortened(vm: VmName, name: ForwardName): boolean {
  const base = "lw_".length + vm.length + "_".length + name.length;
  const label = "limawan:".length + vm.length + ":".length + name.length;
  return base + "_ban".length > MAX_TABLE_NAME || base > MAX_TAG_NAME || label > MAX_LABEL;
}

/** `stem + suffix` if it fits, else a prefix of stem, `_`, 8 hex digits of its hash, suffix. */
export function shorten(stem: string, suffix: string, max: number): string {
  if (stem.length + suffix.length <= max) return stem + suffix;
  const hash = fnv1a32(stem);
  return `${stem.slice(0, max - suffix.length - hash.length - 1)}_${hash}${suffix}`;
}

/** FNV-1a, 32 bits: tiny, stable across Node versions, no crypto needed for a name. */
function fnv1a32(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
