// `status --rules`: the limawan anchor as LimaWAN last loaded it, rule by rule, each with the
// lima.yaml line it came from. Rendered again from the record — the same specs, addresses and
// interfaces give the same bytes (the compiler is deterministic) — and checked against the
// record's hash, so a record that no longer matches what was loaded says so. Pure.
import { emitAnchor } from "../../compiler/emit-pf.js";
import { hashAnchor } from "./anchor-hash.js";
import type { State } from "./state.js";
import { parseRecordedInterfaces } from "./state.js";

export interface RuleOrigin {
  rule: string;
  /** The forward's statement; null for a comment. For a VM's routed-traffic block, only `vm`. */
  origin: { vm: string; forward: string | null; file: string | null; line: number | null } | null;
}

export interface LoadedRules {
  /** The text rendered again hashes to what the record says was loaded. */
  matchesRecord: boolean;
  rules: RuleOrigin[];
}

export function loadedRules(state: State): LoadedRules {
  const vms = Object.values(state.vms);
  const interfaces = parseRecordedInterfaces(state.interfaces);
  if (vms.length === 0 || !interfaces) return { matchesRecord: state.anchorHash === null, rules: [] };
  const compiled = emitAnchor(vms.map((vm) => ({ spec: vm.spec, address: vm.address })), { defaultInterfaces: [interfaces[0]!, ...interfaces.slice(1)] });
  if (!compiled.ok) return { matchesRecord: false, rules: [] };
  const byVm = new Map(vms.map((vm) => [vm.spec.vm as string, vm.instance]));
  const instanceOf = (vm: string) => byVm.get(vm) ?? vm;
  const lines = compiled.text.split("\n").slice(0, -1);
  const rules = lines.map((rule, i): RuleOrigin => {
    const origin = compiled.origins[i];
    if (origin) return { rule, origin: { vm: origin.vm, forward: origin.forward, file: origin.file, line: origin.line } };
    const vm = compiled.vmRules.get(i);
    return { rule, origin: vm === undefined ? null : { vm: instanceOf(vm), forward: null, file: null, line: null } };
  });
  return { matchesRecord: hashAnchor(compiled.text) === state.anchorHash, rules };
}
