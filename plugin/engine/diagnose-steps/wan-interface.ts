// The forward's WAN interfaces are up, linked and addressed, and still where the default route goes.
import type { Forward, InterfaceName } from "../../../compiler/ir.js";
import type { DiagnoseFacts } from "./facts.js";
import { step, type DiagnoseStep, type Step } from "./step.js";

export const wanInterface: DiagnoseStep = {
  id: "wan-interface",
  per: "forward",
  dependsOn: [],
  judge: ({ facts, forward, interfaces, applied }) => wanInterfaceStep(facts, forward, interfaces, applied),
};

function wanInterfaceStep(facts: DiagnoseFacts, forward: Forward, interfaces: readonly InterfaceName[], applied: boolean): Step {
  if (interfaces.length === 0) {
    return step("wan-interface", "fail", "none: the Mac has no default route and the annotation names no interface", `Add \`interface en0\` to the annotation (or \`on en0\` to the forward).`);
  }
  const problems: string[] = [];
  const good: string[] = [];
  for (const name of interfaces) {
    const reading = facts.interfaces.get(name);
    if (!reading || !reading.ok) {
      problems.push(`${name}: ${reading && !reading.ok ? reading.reason : "not read"}`);
      continue;
    }
    const state = reading.value;
    if (!state) problems.push(`${name} does not exist`);
    else if (!state.up) problems.push(`${name} is down`);
    else if (!state.active) problems.push(`${name} has no link (status: inactive)`);
    else if (state.ipv4.length === 0) problems.push(`${name} has no IPv4 address`);
    else good.push(`${name} up, ${state.ipv4.join(", ")}`);
  }
  if (problems.length > 0) {
    return step("wan-interface", good.length > 0 ? "warn" : "fail", `${problems.join("; ")}: WAN clients cannot reach the forward there`, "Connect it, or name the interface that is (`interface IF` in the annotation, `on IF` on the forward, or `up --interface IF`).");
  }
  // The rules follow the default route when loaded; a move since then leaves them behind.
  if (applied && forward.interfaces === null && facts.defaultInterface && !interfaces.includes(facts.defaultInterface)) {
    return step("wan-interface", "warn", `${good.join("; ")}; the default route now goes out ${facts.defaultInterface}, where the rules do not listen`, `\`limactl limawan up ${facts.instance}\` moves them to ${facts.defaultInterface}.`);
  }
  return step("wan-interface", "pass", good.join("; "));
}
