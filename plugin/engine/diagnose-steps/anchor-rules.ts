// The forward's rules are loaded (its label), and are what `up` would load now: the sha256 of its
// lines as the record renders them against the annotation's now, IR against IR.
import { emitAnchor, type HostFacts } from "../../../compiler/emit-pf.js";
import { formatRange, type Forward, type InterfaceName, type Ipv4Address, type VmSpec } from "../../../compiler/ir.js";
import { forwardPfNames } from "../../../compiler/pf-names.js";
import { hashAnchor } from "../anchor-hash.js";
import type { DiagnoseFacts } from "./facts.js";
import { loadedRules } from "../loaded-rules.js";
import { parseRecordedInterfaces, type State } from "../state.js";
import { step, unread, type DiagnoseStep, type Step } from "./step.js";

export const anchorRules: DiagnoseStep = {
  id: "anchor-rules",
  per: "forward",
  dependsOn: [],
  judge: ({ facts, spec, forward, vmAddress }) => anchorRulesStep(facts, spec, forward, vmAddress),
};

function anchorRulesStep(facts: DiagnoseFacts, spec: VmSpec, forward: Forward, vmAddress: Ipv4Address | null): Step {
  const name = facts.instance;
  const { label } = forwardPfNames(spec, forward);
  const labels = facts.pf.labels;
  if (!labels.ok) return unread("anchor-rules", labels);
  const up = `limactl limawan up ${name}`;
  if (!labels.value.has(label)) {
    const heldDown = facts.state.ok && facts.state.value.heldDown.includes(name);
    return step(
      "anchor-rules",
      "fail",
      `not loaded: no rule labelled ${label} in the limawan anchor${heldDown ? " (held down by `limactl limawan down`)" : ""}`,
      heldDown ? `\`${up}\` forwards it again.` : `\`${up}\` loads them; the watch daemon (\`limactl limawan install\`) does it at each start.`,
    );
  }
  if (!facts.state.ok) {
    const rootWouldRead = facts.state.code === "needs-root";
    return { ...step("anchor-rules", "unknown", `loaded (${label}); ${rootWouldRead ? "comparing them with LimaWAN's record needs root: add --sudo" : `LimaWAN's record cannot be read: ${facts.state.reason}`}`), cause: facts.state.code };
  }
  const state = facts.state.value;
  const applied = state.vms[name];
  const recorded = applied?.spec.forwards.find((f) => f.name === forward.name);
  if (!applied || !recorded) {
    return step("anchor-rules", "fail", `rules labelled ${label} are loaded, but LimaWAN's record has no such forward: it cannot tell what they do`, `\`${up}\` loads the anchor again from the annotation.`);
  }
  const recordedInterfaces = parseRecordedInterfaces(state.interfaces);
  const loaded = forwardRules(applied.spec, recorded, applied.address, recordedInterfaces ?? facts.defaultInterface);
  // What `up` would load now: this annotation, this address, the default route's interface.
  const wanted = forwardRules(spec, forward, vmAddress ?? applied.address, facts.defaultInterface ?? recordedInterfaces);
  const integrity = anchorRecordIntact(state) ? "" : " (LimaWAN's record does not hash to the anchor it says it loaded)";
  if (loaded === null || wanted === null) return step("anchor-rules", "unknown", `loaded (${label}); the rules cannot be rendered to compare them`);
  if (loaded.hash !== wanted.hash) {
    return step(
      "anchor-rules",
      "fail",
      `loaded rules are stale: ${describeChange(loaded, wanted)} (rules sha256 ${loaded.hash.slice(0, 12)}, the annotation's now ${wanted.hash.slice(0, 12)})${integrity}`,
      `\`${up}\` loads the current rules${recordedInterfaces && facts.defaultInterface && !recordedInterfaces.includes(facts.defaultInterface) ? ` (add \`--interface ${recordedInterfaces.join(",")}\` if you chose that interface)` : ""}.`,
    );
  }
  return step("anchor-rules", integrity ? "warn" : "pass", `loaded, as the annotation says (${label}, rules sha256 ${wanted.hash.slice(0, 12)})${integrity}`, integrity ? `\`${up}\` loads the anchor again.` : undefined);
}

/** A forward's rules as the compiler writes them for one address and set of interfaces: its IR, and its lines' sha256. */
interface ForwardRules { forward: Forward; address: Ipv4Address; interfaces: readonly InterfaceName[]; hash: string }

/** The forward's own lines of the anchor, hashed; null when no interface is known for it. */
function forwardRules(spec: VmSpec, forward: Forward, address: Ipv4Address, interfaces: InterfaceName | readonly InterfaceName[] | null | undefined): ForwardRules | null {
  const list = interfaces === null || interfaces === undefined ? [] : typeof interfaces === "string" ? [interfaces] : [...interfaces];
  if (list.length === 0 && spec.forwards.some((f) => f.interfaces === null)) return null;
  const defaults = (list.length > 0 ? list : ["en0"]) as [InterfaceName, ...InterfaceName[]];
  const facts: HostFacts = { defaultInterfaces: defaults };
  const compiled = emitAnchor([{ spec, address }], facts);
  if (!compiled.ok) return null;
  const lines = compiled.text.split("\n").filter((_, i) => compiled.origins[i]?.forward === forward.name);
  return { forward, address, interfaces: forward.interfaces ?? defaults, hash: hashAnchor(lines.join("\n")) };
}

/** The recorded anchor hash is that of the recorded VMs rendered again (converge records both at once). */
function anchorRecordIntact(state: State): boolean {
  return state.anchorHash === null || loadedRules(state).matchesRecord;
}

/**
 * What differs between the loaded and the wanted rules, in a user's words, from the two
 * forwards as recorded and as annotated: where they redirect (protocol, interface, ports,
 * address), else their options.
 */
function describeChange(loaded: ForwardRules, wanted: ForwardRules): string {
  const [a, b] = [redirection(loaded), redirection(wanted)];
  if (a !== b) return `they forward ${a}; the annotation and address now say ${b}`;
  return "their options (sources, limits, logging) differ from the annotation's";
}

/** `tcp en0:2222 → 192.168.105.2:22`: the first interface's redirection (the others follow it). */
function redirection(rules: ForwardRules): string {
  const { forward, address, interfaces } = rules;
  const interfacesNote = interfaces.length > 1 ? ` (and ${interfaces.slice(1).join(", ")})` : "";
  return `${forward.protocol} ${interfaces[0]}:${formatRange(forward.host)} → ${address}:${formatRange(forward.guest)}${interfacesNote}`;
}
