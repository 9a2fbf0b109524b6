// Valid VM specs + host facts → the text of the `limawan` anchor, in macOS pf syntax
// (OpenBSD 4.x generation: `rdr … -> ip port n`, never `rdr-to`). Pure and deterministic.
//
// Layout (PF-FACTS.md §2: one file must go tables, translation, filtering or pfctl rejects it):
//   tables     — per forward: allow-list (const, initialised) and ban table (persist, empty:
//                an initialiser would wipe the bans on every reload, §6)
//   translation — per forward × interface × protocol: `no rdr` for banned sources, then the
//                rdr with a tag
//   filtering  — block banned sources quick, then a `pass in quick … tagged` carrying the
//                state options and the label (labels are filter-only, §7); last, per VM and WAN
//                interface, a quick block of what was routed to the VM rather than redirected
// Every value written comes from a branded, validated field of VmSpec or a number.
import type { Diagnostic } from "./diagnostic.js";
import {
  protocolsOf,
  type Forward,
  type InterfaceName,
  type Ipv4Address,
  type PortRange,
  type VmName,
  type VmSpec,
} from "./ir.js";
import { ANCHOR } from "./pf/anchor-points.js";
import { forwardPfNames, type ForwardPfNames } from "./pf-names.js";
import { reportPfNameCollisions } from "./validate/pf-names.js";

declare const anchorBrand: unique symbol;
export type AnchorText = string & { readonly [anchorBrand]: "AnchorText" };

export interface HostFacts {
  /** WAN interfaces for forwards that name none: the default route's interface, or --interface. */
  defaultInterfaces: readonly [InterfaceName, ...InterfaceName[]];
}

export interface PlacedVm { spec: VmSpec; address: Ipv4Address }

/** One VM set compiled: what the anchor load installs, and where each rule came from. */
export interface CompiledAnchor {
  text: AnchorText;
  /** Every forward's PF names (labels, tag, declared tables), VM by VM in the text's order. */
  forwards: ForwardPfNames[];
  /** For line i of `text` (0-based): the forward whose rule it is; null for a comment or a VM-wide rule. */
  origins: (ForwardPfNames | null)[];
  /** The VM-wide rules (a VM's routed-traffic blocks): line index → the VM they were written for. */
  vmRules: ReadonlyMap<number, VmName>;
}

export type EmitResult = ({ ok: true } & CompiledAnchor) | { ok: false; diagnostics: Diagnostic[] };

/**
 * One section of the anchor, joined a chunk of lines at a time. Keeping every rule line (each a
 * rope of its template's pieces) alive until one final join made each young-generation GC copy
 * all of them: emitting 10,000 forwards took ~40x as long as 1,000. A joined chunk is one flat
 * string, cheap to copy. 256 lines a chunk measured fastest at 10,000 forwards (1,024: +12%,
 * 4,096: +40%, 64: +4%).
 */
class SectionText {
  private static readonly CHUNK_LINES = 256;
  private lines: string[] = [];
  private readonly chunks: string[] = [];
  /** The forward each line was written for, in line order (null: a VM's, not one forward's). */
  readonly origins: (ForwardPfNames | null)[] = [];

  push(line: string, origin: ForwardPfNames | null): void {
    this.lines.push(line);
    this.origins.push(origin);
    if (this.lines.length === SectionText.CHUNK_LINES) this.flush();
  }

  /** The section's lines, each ending in a newline. */
  text(): string {
    this.flush();
    return this.chunks.join("");
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    this.chunks.push(this.lines.join("\n") + "\n");
    this.lines = [];
  }
}

/** The three sections of the anchor, filled forward by forward. */
interface Sections { tables: SectionText; translation: SectionText; filter: SectionText }

/** Valid VM specs → the anchor, after the checks only the whole set can make (PF names). */
export function emitAnchor(vms: readonly PlacedVm[], facts: HostFacts): EmitResult {
  const ordered = [...vms].sort((a, b) => (a.spec.vm < b.spec.vm ? -1 : a.spec.vm > b.spec.vm ? 1 : 0));
  const collisions = reportPfNameCollisions(ordered.map((vm) => vm.spec));
  if (collisions.length > 0) return { ok: false, diagnostics: collisions };

  // Rules go straight into the shared sections: the per-forward names are all that is kept.
  const sections: Sections = { tables: new SectionText(), translation: new SectionText(), filter: new SectionText() };
  const forwards: ForwardPfNames[] = [];
  for (const { spec, address } of ordered) {
    for (const forward of spec.forwards) {
      const names = forwardPfNames(spec, forward);
      forwards.push(names);
      emitForward(forward, names, address, forward.interfaces ?? facts.defaultInterfaces, sections);
    }
  }
  // Last among the filter rules, after every VM's quick passes: what reached a VM's address on a
  // WAN interface without one of its forwards' tags was routed to it, around the forwards' rules.
  const routedBlocks: { at: number; vm: VmName }[] = [];
  for (const { spec, address } of ordered) {
    if (spec.allowRouted || spec.forwards.length === 0) continue;
    const wan = new Set(spec.forwards.flatMap((f) => f.interfaces ?? facts.defaultInterfaces));
    for (const iface of wan) {
      routedBlocks.push({ at: sections.filter.origins.length, vm: spec.vm });
      sections.filter.push(`block drop in quick on ${iface} inet from any to ${address}`, null);
    }
  }
  const header = [`# LimaWAN anchor "${ANCHOR}": generated from x-limawan annotations, do not edit.`];
  for (const { spec, address } of ordered) header.push(`# vm ${spec.vm} ${address}: ${spec.forwards.length} forward(s)`);
  const text = `${header.join("\n")}\n${sections.tables.text()}${sections.translation.text()}${sections.filter.text()}`;
  const origins: (ForwardPfNames | null)[] = [
    ...header.map(() => null),
    ...sections.tables.origins,
    ...sections.translation.origins,
    ...sections.filter.origins,
  ];
  const filterStart = origins.length - sections.filter.origins.length;
  const vmRules = new Map(routedBlocks.map(({ at, vm }) => [filterStart + at, vm]));
  return { ok: true, text: text as AnchorText, forwards, origins, vmRules };
}

function emitForward(forward: Forward, names: ForwardPfNames, address: Ipv4Address, interfaces: readonly InterfaceName[], out: Sections): void {
  const source = names.sourceTable ? `<${names.sourceTable}>` : "any";
  const log = forward.log ? " log" : "";

  if (names.sourceTable) out.tables.push(`table <${names.sourceTable}> const persist { ${forward.sources.join(" ")} }`, names);
  if (names.banTable) out.tables.push(`table <${names.banTable}> persist`, names);

  for (const iface of interfaces) {
    for (const proto of protocolsOf(forward.protocol)) {
      const wan = `on ${iface} inet proto ${proto}`;
      const hostPort = `to (${iface}) port ${pfPorts(forward.host)}`;
      // Bans are counted on TCP only, but a banned source is kept out on every protocol.
      if (names.banTable) {
        out.translation.push(`no rdr ${wan} from <${names.banTable}> ${hostPort}`, names);
        out.filter.push(`block drop in${log} quick ${wan} from <${names.banTable}> ${hostPort}`, names);
      }
      out.translation.push(`rdr ${wan} from ${source} ${hostPort} tag "${names.tag}" -> ${address} port ${rdrTarget(forward.guest)}`, names);
      const state = proto === "tcp" ? `flags S/SA keep state${stateOptions(forward, names)}` : "keep state";
      out.filter.push(
        `pass in${log} quick ${wan} from any to ${address} port ${pfPorts(forward.guest)} tagged "${names.tag}" ${state} label "${names.label}"`,
        names,
      );
    }
  }
}

function stateOptions(forward: Forward, names: ForwardPfNames): string {
  const options: string[] = [];
  if (forward.max !== null) options.push(`max-src-conn ${forward.max}`);
  if (forward.limit !== null) {
    options.push(`max-src-conn-rate ${forward.limit.count}/${forward.limit.seconds}`);
    options.push(`overload <${names.banTable}> flush global`);
  }
  return options.length > 0 ? ` (${options.join(", ")})` : "";
}

/** `port 22` or `port 9000:9010` (inclusive; no spaces around `:`, PF-FACTS.md §7). */
function pfPorts(range: PortRange): string {
  return range.first === range.last ? String(range.first) : `${range.first}:${range.last}`;
}

/** rdr target: a range maps port by port with `first:*` (PF-FACTS.md §7). */
function rdrTarget(range: PortRange): string {
  return range.first === range.last ? String(range.first) : `${range.first}:*`;
}
