// A damaged state file must never keep a user from taking forwards down. Whoever finds it
// damaged under the lock (up, down, the watcher, install, uninstall) moves it aside — kept as
// state.json.damaged-TIME, root's alone — rebuilds the state from what PF holds, says so, and
// goes on. status and doctor only look: they show the state rebuilt in memory and the damage.
//
// What PF holds is the truth about the rules (state.ts reconciles every command with it); what
// it cannot say (a forward's name and options, a VM's file) comes from the VM's annotation, and
// is taken only where PF's rules are what that annotation compiles to.
import { protocolsOf, type Forward } from "../../compiler/ir.js";
import { forwardPfNames } from "../../compiler/pf-names.js";
import { compileFile, type SourceFile } from "../../compiler/pipeline.js";
import { parseIpv4Address, vmAddressProblem } from "../../compiler/validate/addresses.js";
import type { Host } from "../host/index.js";
import type { LoadedPass } from "../../compiler/pf/printed-rule.js";
import type { Output } from "../output.js";
import { emptyState, parseRecordedInterfaces, readStateFile, salvageState, writeState, type AppliedVm, type Salvaged, type State } from "./state.js";

export interface RecoveryFacts {
  /** The damaged file's text. */
  text: string;
  /** The labelled pass rules of the limawan anchor, as pfctl prints them now. */
  passes: readonly LoadedPass[];
  /** The Lima instances' lima.yaml files that could be read. */
  annotations: readonly SourceFile[];
}

export interface RebuiltState {
  state: State;
  /** VMs whose loaded rules were matched to their annotation, each with the forwards found. */
  vms: string[];
  /** Loaded labels no annotation accounts for: not in the state, so the next anchor load drops them. */
  unowned: string[];
  /** Host records the damaged file no longer gave (state.ts salvageState). */
  lost: Salvaged["lost"];
}

/**
 * The state a damaged file should have said, from PF's rules. Pure. A VM is in it with the
 * forwards of its annotation whose label is loaded and whose pass rules are what the forward
 * compiles to (each interface and protocol once, to its guest ports), all to one address that is
 * a VM's; anything else of its in PF is unowned. The anchor's hash is unknown (null), so the next
 * `up` loads the anchor again from the annotations.
 */
export function rebuildState(facts: RecoveryFacts): RebuiltState {
  const salvaged = salvageState(facts.text);
  const byLabel = new Map<string, LoadedPass[]>();
  for (const pass of facts.passes) byLabel.set(pass.label, [...(byLabel.get(pass.label) ?? []), pass]);

  const vms: Record<string, AppliedVm> = {};
  const claimed = new Set<string>();
  const defaults: string[] = [];
  for (const source of [...facts.annotations].sort((a, b) => (a.vm < b.vm ? -1 : a.vm > b.vm ? 1 : 0))) {
    const spec = compileFile(source).spec;
    if (!spec) continue;
    const found: Array<{ forward: Forward; label: string; passes: LoadedPass[] }> = [];
    for (const forward of spec.forwards) {
      const label = forwardPfNames(spec, forward).label;
      const passes = byLabel.get(label);
      if (passes && !claimed.has(label) && loadedAsCompiled(forward, passes)) found.push({ forward, label, passes });
    }
    const addresses = new Set(found.flatMap((f) => f.passes.map((p) => p.address)));
    const address = addresses.size === 1 ? parseIpv4Address([...addresses][0]!) : null;
    if (!address || vmAddressProblem(address, false)) continue;
    vms[spec.vm] = { instance: spec.vm, file: source.file, address, spec: { ...spec, forwards: found.map((f) => f.forward) } };
    for (const f of found) {
      claimed.add(f.label);
      if (f.forward.interfaces === null) defaults.push(...f.passes.map((p) => p.interface));
    }
  }
  const state: State = {
    ...emptyState(),
    ...salvaged.record,
    vms,
    interfaces: parseRecordedInterfaces([...new Set(defaults)]) ?? [],
    anchorHash: null,
  };
  return { state, vms: Object.keys(vms), unowned: [...byLabel.keys()].filter((l) => !claimed.has(l)), lost: salvaged.lost };
}

/** The forward's pass rules as the emitter writes them: one per interface and protocol, each to its guest ports. */
function loadedAsCompiled(forward: Forward, passes: readonly LoadedPass[]): boolean {
  const protocols: readonly string[] = protocolsOf(forward.protocol);
  const interfaces: readonly string[] = forward.interfaces ?? [...new Set(passes.map((p) => p.interface))];
  const pairs = new Set(passes.map((p) => `${p.interface} ${p.protocol}`));
  return (
    pairs.size === passes.length &&
    passes.length === interfaces.length * protocols.length &&
    passes.every((p) => interfaces.includes(p.interface) && protocols.includes(p.protocol) && p.ports.first === forward.guest.first && p.ports.last === forward.guest.last)
  );
}

async function recoveryFacts(host: Host, text: string): Promise<RecoveryFacts> {
  const [passes, names] = await Promise.all([host.pfctl.loadedPasses(), host.lima.instanceNames()]);
  const annotations: SourceFile[] = [];
  for (const vm of names) {
    // One the owner check refuses (host/files.ts) or that is gone is simply not matched.
    const text = await host.lima.readConfig(vm).catch(() => null);
    if (text !== null) annotations.push({ vm, file: host.lima.configFile(vm), text });
  }
  return { text, passes, annotations };
}

/**
 * The recorded state, for a command that changes PF (under the state lock). A damaged file is
 * moved aside and the state rebuilt from PF and written in its place, with a warning; a dry run
 * only says it would.
 */
export async function recoverState(host: Host, out: Output): Promise<State> {
  const read = await readStateFile(host);
  if (read.ok) return read.state;
  const rebuilt = rebuildState(await recoveryFacts(host, read.text));
  const aside = await host.state.moveAside(new Date());
  await writeState(host, rebuilt.state);
  out.warn(describeRecovery(host.state.file, read.reason, aside, rebuilt, host.dryRun));
  return rebuilt.state;
}

/** For status and doctor, which change nothing: the state (rebuilt in memory when damaged) and why it was. */
export async function inspectState(host: Host): Promise<{ state: State; damaged: string | null }> {
  const read = await readStateFile(host);
  if (read.ok) return { state: read.state, damaged: null };
  return { state: rebuildState(await recoveryFacts(host, read.text)).state, damaged: read.reason };
}

export function describeRecovery(file: string, reason: string, aside: string, rebuilt: RebuiltState, dryRun: boolean): string {
  const parts = [
    dryRun
      ? `${file} is damaged (${reason}): without --dry-run it is moved aside to ${aside} and the state rebuilt from PF's rules; this dry run plans against that`
      : `${file} was damaged (${reason}): moved it aside to ${aside} and rebuilt the state from PF's rules`,
    rebuilt.vms.length > 0 ? `forwards loaded for ${rebuilt.vms.join(", ")}` : "no VM's forwards are loaded",
  ];
  if (rebuilt.unowned.length > 0) parts.push(`rules no annotation accounts for now (${rebuilt.unowned.join(", ")}) are left out, so the next change of the anchor drops them`);
  if (rebuilt.lost.includes("forwarding")) parts.push("whether LimaWAN turned IP forwarding on is not known any more (uninstall leaves it as it is)");
  if (rebuilt.lost.includes("pfToken")) parts.push("a PF reference LimaWAN held is not known any more (it keeps PF enabled until the Mac restarts)");
  return parts.join("; ");
}
