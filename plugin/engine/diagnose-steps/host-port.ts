// The forward's host port is free of listeners on the Mac (which would take its WAN clients while the rules are not loaded).
import { formatRange, type Forward } from "../../../compiler/ir.js";
import { MAX_PORTS_PER_FORWARD, portsToProbe, type DiagnoseFacts } from "./facts.js";
import { step, type DiagnoseStep, type Step } from "./step.js";

export const hostPort: DiagnoseStep = { id: "host-port", per: "forward", dependsOn: [], judge: ({ facts, forward }) => hostPortStep(facts, forward) };

function hostPortStep(facts: DiagnoseFacts, forward: Forward): Step {
  const busy: string[] = [];
  const unknown: string[] = [];
  for (const { protocol, port } of portsToProbe(forward)) {
    const probe = facts.hostPorts.get(`${protocol}/${port}`) ?? "unknown";
    if (probe === "in-use") busy.push(`${protocol} ${port}`);
    else if (probe === "unknown") unknown.push(`${protocol} ${port}`);
  }
  if (busy.length > 0) {
    const [protocol, port] = busy[0]!.split(" ");
    return step(
      "host-port",
      "fail",
      `${busy.join(", ")} in use by a process on this Mac: PF's rdr takes its WAN clients, and while the rules are not loaded those clients reach that process instead of the VM`,
      `\`lsof -nP -i${protocol!.toUpperCase()}:${port}\` shows it; stop it, or choose another host port.`,
    );
  }
  if (unknown.length > 0) return step("host-port", "unknown", `could not test ${unknown.join(", ")} (a port below 1024 needs root to bind)`);
  const ranged = forward.host.last - forward.host.first + 1 > MAX_PORTS_PER_FORWARD ? ` (the first ${MAX_PORTS_PER_FORWARD} tested)` : "";
  return step("host-port", "pass", `${forward.protocol} ${formatRange(forward.host)} free on this Mac${ranged}`);
}
