// What changed between the state before and after converging, VM by VM: what up/down print
// and the watcher logs. Pure.
import { isDeepStrictEqual } from "node:util";
import { formatRange } from "../../compiler/ir.js";
import type { Output } from "../output.js";
import { describeAction, type Action } from "./plan-actions.js";
import type { AppliedVm, State } from "./state.js";

export interface VmChanges {
  added: AppliedVm[];
  /** Re-applied with another address or annotation. */
  changed: AppliedVm[];
  unchanged: AppliedVm[];
  removed: string[];
}

export function vmChanges(before: State, after: State): VmChanges {
  const changes: VmChanges = { added: [], changed: [], unchanged: [], removed: [] };
  for (const vm of Object.values(after.vms)) {
    const previous = before.vms[vm.instance];
    if (!previous) changes.added.push(vm);
    else if (isDeepStrictEqual(previous, vm)) changes.unchanged.push(vm);
    else changes.changed.push(vm);
  }
  changes.removed = Object.keys(before.vms).filter((name) => !(name in after.vms));
  return changes;
}

export interface ResultSummary {
  changed: boolean;
  dryRun: boolean;
  actions: string[];
  applied: Array<{ instance: string; address: string; forwards: string[] }>;
  removed: string[];
  lines: string[];
}

/** For people (`lines`) and for --json: per VM, forwarded or up to date; removed ones. */
export function describeResult(result: { before: State; after: State; actions: readonly Action[] }, dryRun: boolean): ResultSummary {
  const { before, after, actions } = result;
  const changes = vmChanges(before, after);
  const forwardsOf = (vm: AppliedVm) => vm.spec.forwards.map((f) => `${f.name} ${formatRange(f.host)} -> ${vm.address}:${formatRange(f.guest)}/${f.protocol}`);
  const lines: string[] = [];
  const verb = dryRun ? "would " : "";
  for (const vm of Object.values(after.vms)) {
    const same = changes.unchanged.includes(vm);
    lines.push(`${vm.instance} (${vm.address}): ${same ? "up to date" : `${verb}forward`}`);
    if (!same) for (const f of forwardsOf(vm)) lines.push(`  ${f}`);
  }
  for (const name of changes.removed) lines.push(`${name}: ${verb}remove forwards`);
  if (actions.length === 0) lines.push("nothing to change");
  else if (dryRun) lines.push(`dry run: nothing changed (${actions.map(describeAction).join("; ")})`);
  return {
    changed: actions.length > 0 && !dryRun,
    dryRun,
    actions: actions.map((a) => a.kind),
    applied: Object.values(after.vms).map((vm) => ({ instance: vm.instance, address: vm.address, forwards: forwardsOf(vm) })),
    removed: changes.removed,
    lines,
  };
}

/** The watcher's one-line log of a run: +added, ~changed (address or annotation), -removed. */
export function changeLine(before: State, after: State): string {
  const changes = vmChanges(before, after);
  const vm = (sign: string) => (v: AppliedVm) => `${sign}${v.instance} (${v.address}, ${v.spec.forwards.length} forward(s))`;
  return [...changes.added.map(vm("+")), ...changes.changed.map(vm("~")), ...changes.removed.map((n) => `-${n}`)].join(" ");
}

/** What up and down print: the summary as JSON, or its lines for people. */
export function printResult(out: Output, result: { before: State; after: State; actions: readonly Action[] }, dryRun: boolean, skipped: readonly { instance: string; reason: string }[] = []): void {
  const summary = describeResult(result, dryRun);
  if (out.options.json) out.json({ ...summary, skipped: skipped.map((s) => ({ instance: s.instance, reason: s.reason })) });
  else for (const line of summary.lines) out.info(line);
}
