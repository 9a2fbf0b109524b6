// Valid VM specs + host facts → the text of the `limawan` anchor, in macOS pf syntax
// (OpenBSD 4.x generation: `rdr … -> ip port n`, never `rdr-to`). Pure and deterministic.
//
// Layout (PF-FACTS.md §2: one file must go tables, translation, filtering or pfctl rejects it):
//   tables     — per forward: allow-list (const, initialised) and ban table (persist, empty:
//                an initialiser would wipe the bans on every reload, §6)
//   translation — per forward × interface × protocol: `no rdr` for banned sources, then the
//                rdr with a tag
//   filtering  — block banned sources quick, then a `pass in quick … tagged` carrying the
//                state options and the label (labels are filter-only, §7)
// Every value written comes from a branded, validated field of VmSpec or a number.
import { CODES, type Diagnostic } from "./diagnostic.js";
import {
  protocolsOf,
  type Forward,
  type InterfaceName,
  type Ipv4Address,
  type PortRange,
  type VmSpec,
} from "./ir.js";
import { forwardIdentifiers, type ForwardIdentifiers } from "./pf-names.js";

export const ANCHOR = "limawan";

declare const anchorBrand: unique symbol;
export type AnchorText = string & { readonly [anchorBrand]: "AnchorText" };

export interface HostFacts {
  /** WAN interfaces for forwards that name none: the default route's interface, or --interface. */
  defaultInterfaces: readonly [InterfaceName, ...InterfaceName[]];
}

export interface PlacedVm { spec: VmSpec; address: Ipv4Address }

export interface ForwardRules { vm: string; forward: string; ids: ForwardIdentifiers; tables: string[]; translation: string[]; filter: string[] }

export type EmitResult =
  | { ok: true; text: AnchorText; forwards: ForwardRules[] }
  | { ok: false; diagnostics: Diagnostic[] };

export function emitAnchor(vms: readonly PlacedVm[], facts: HostFacts): EmitResult {
  const ordered = [...vms].sort((a, b) => (a.spec.vm < b.spec.vm ? -1 : a.spec.vm > b.spec.vm ? 1 : 0));
  const forwards: ForwardRules[] = [];
  for (const { spec, address } of ordered) {
    for (const forward of spec.forwards) {
      forwards.push(emitForward(spec, forward, address, forward.interfaces ?? facts.defaultInterfaces));
    }
  }
  const collisions = findCollisions(ordered, forwards);
  if (collisions.length > 0) return { ok: false, diagnostics: collisions };

  const lines = [`# LimaWAN anchor "${ANCHOR}": generated from x-limawan annotations, do not edit.`];
  for (const { spec, address } of ordered) lines.push(`# vm ${spec.vm} ${address}: ${spec.forwards.length} forward(s)`);
  for (const section of ["tables", "translation", "filter"] as const) {
    for (const f of forwards) lines.push(...f[section]);
  }
  return { ok: true, text: (lines.join("\n") + "\n") as AnchorText, forwards };
}

function emitForward(spec: VmSpec, forward: Forward, address: Ipv4Address, interfaces: readonly InterfaceName[]): ForwardRules {
  const ids = forwardIdentifiers(spec.vm, forward.name);
  const out: ForwardRules = { vm: spec.vm, forward: forward.name, ids, tables: [], translation: [], filter: [] };
  const banned = forward.limit !== null && forward.protocol !== "udp";
  const source = forward.sources.length > 0 ? `<${ids.sourceTable}>` : "any";
  const log = forward.log ? " log" : "";

  if (forward.sources.length > 0) out.tables.push(`table <${ids.sourceTable}> const persist { ${forward.sources.join(" ")} }`);
  if (banned) out.tables.push(`table <${ids.banTable}> persist`);

  for (const iface of interfaces) {
    for (const proto of protocolsOf(forward.protocol)) {
      const wan = `on ${iface} inet proto ${proto}`;
      const hostPort = `to (${iface}) port ${pfPorts(forward.host)}`;
      if (banned && proto === "tcp") {
        out.translation.push(`no rdr ${wan} from <${ids.banTable}> ${hostPort}`);
        out.filter.push(`block drop in${log} quick ${wan} from <${ids.banTable}> ${hostPort}`);
      }
      out.translation.push(`rdr ${wan} from ${source} ${hostPort} tag "${ids.tag}" -> ${address} port ${rdrTarget(forward.guest)}`);
      const state = proto === "tcp" ? `flags S/SA keep state${stateOptions(forward, ids)}` : "keep state";
      out.filter.push(
        `pass in${log} quick ${wan} from any to ${address} port ${pfPorts(forward.guest)} tagged "${ids.tag}" ${state} label "${ids.label}"`,
      );
    }
  }
  return out;
}

function stateOptions(forward: Forward, ids: ForwardIdentifiers): string {
  const options: string[] = [];
  if (forward.max !== null) options.push(`max-src-conn ${forward.max}`);
  if (forward.limit !== null) {
    options.push(`max-src-conn-rate ${forward.limit.count}/${forward.limit.seconds}`);
    options.push(`overload <${ids.banTable}> flush global`);
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

function findCollisions(vms: readonly PlacedVm[], forwards: readonly ForwardRules[]): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const owners = new Map<string, ForwardRules>();
  for (const f of forwards) {
    for (const kind of ["banTable", "sourceTable", "tag", "label"] as const) {
      // Ban and allow-list tables share one namespace inside the anchor.
      const key = `${kind === "label" || kind === "tag" ? kind : "table"}:${f.ids[kind]}`;
      const owner = owners.get(key);
      if (owner && owner !== f) {
        const placed = vms.find((v) => v.spec.vm === f.vm)!.spec;
        const line = placed.forwards.find((x) => x.name === f.forward)!.line;
        diagnostics.push({
          code: CODES.NAME_COLLISION,
          severity: "error",
          message: `PF name \`${f.ids[kind]}\` for \`${f.vm}/${f.forward}\` collides with \`${owner.vm}/${owner.forward}\` after shortening`,
          hint: "Rename one of the forwards (or the instance) so their PF names differ.",
          file: placed.file,
          line,
          column: 1,
          endLine: line,
          endColumn: 2,
        });
      } else {
        owners.set(key, f);
      }
    }
  }
  return diagnostics;
}
