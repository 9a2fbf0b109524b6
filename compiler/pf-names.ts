// PF identifiers for a forward: tables (≤31 characters, PF_TABLE_NAME_SIZE 32), tags and
// labels (≤63, PF_TAG_NAME_SIZE / PF_RULE_LABEL_SIZE 64) — PF-FACTS.md §6–7. Too-long names
// are shortened deterministically (prefix + hash of the full name); collisions between
// shortened names are reported by validate/pf-names.ts, never silently merged.
//
// The one place a PF name is derived: the emitter writes these, and the plugin reads them
// from the compiled anchor (or from `pfNamesOf` for rules loaded earlier), never rebuilding them.
import type { Forward, ForwardName, VmName, VmSpec } from "./ir.js";

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

/** The forward declares an overload table: a connection-rate limit on a TCP part. */
export const hasBanTable = (forward: Forward): boolean => forward.limit !== null && forward.protocol !== "udp";
/** The forward declares an allow-list table: sources other than any. */
export const hasSourceTable = (forward: Forward): boolean => forward.sources.length > 0;

/** What one forward writes into PF, by name: the compiled anchor lists one per forward. */
export interface ForwardPfNames {
  vm: VmName;
  forward: ForwardName;
  /** The lima.yaml and line of its expose statement. */
  file: string;
  line: number;
  label: string;
  tag: string;
  /** Only the tables the forward declares (a name nobody writes is not ours to remove). */
  banTable: string | null;
  sourceTable: string | null;
}

export function forwardPfNames(spec: Pick<VmSpec, "vm" | "file">, forward: Forward): ForwardPfNames {
  const ids = forwardIdentifiers(spec.vm, forward.name);
  return {
    vm: spec.vm,
    forward: forward.name,
    file: spec.file,
    line: forward.line,
    label: ids.label,
    tag: ids.tag,
    banTable: hasBanTable(forward) ? ids.banTable : null,
    sourceTable: hasSourceTable(forward) ? ids.sourceTable : null,
  };
}

/** The PF names of every forward of a VM (for rules loaded earlier, recorded as specs). */
export function pfNamesOf(spec: VmSpec): ForwardPfNames[] {
  return spec.forwards.map((forward) => forwardPfNames(spec, forward));
}

export function tablesOf(names: readonly ForwardPfNames[]): string[] {
  const tables: string[] = [];
  for (const n of names) {
    if (n.sourceTable) tables.push(n.sourceTable);
    if (n.banTable) tables.push(n.banTable);
  }
  return tables;
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
