// What up/down/watch say after converging: per VM, what changed.
import { describeAction } from "../../compiler/plan.js";
import { formatRange } from "../../compiler/ir.js";
import type { ConvergeResult } from "../converge.js";

export interface ResultSummary {
  changed: boolean;
  dryRun: boolean;
  actions: string[];
  applied: Array<{ instance: string; address: string; forwards: string[] }>;
  removed: string[];
  lines: string[];
}

export function describeResult(result: ConvergeResult, dryRun: boolean): ResultSummary {
  const { before, after, actions } = result;
  const applied = Object.values(after.vms).map((vm) => ({
    instance: vm.instance,
    address: vm.address,
    forwards: vm.spec.forwards.map((f) => `${f.name} ${formatRange(f.host)} -> ${vm.address}:${formatRange(f.guest)}/${f.protocol}`),
  }));
  const removed = Object.keys(before.vms).filter((name) => !(name in after.vms));
  const lines: string[] = [];
  const verb = dryRun ? "would " : "";
  for (const vm of applied) {
    const previous = before.vms[vm.instance];
    const same = previous && JSON.stringify(previous) === JSON.stringify(after.vms[vm.instance]);
    lines.push(`${vm.instance} (${vm.address}): ${same ? "up to date" : `${verb}forward`}`);
    if (!same) for (const f of vm.forwards) lines.push(`  ${f}`);
  }
  for (const name of removed) lines.push(`${name}: ${verb}remove forwards`);
  if (actions.length === 0) lines.push("nothing to change");
  else if (dryRun) lines.push(`dry run: nothing changed (${actions.map(describeAction).join("; ")})`);
  return { changed: actions.length > 0 && !dryRun, dryRun, actions: actions.map((a) => a.kind), applied, removed, lines };
}
