// `diagnose`: what stands between a WAN client and a VM's service, forward by forward, as data.
// Pure: the facts are gathered first (diagnose-facts.ts) and every step (diagnose-steps/, one
// file each) is judged from them, in the order a packet meets them, none stopping at an earlier
// failure. A step that cannot be judged says why: `skip` when a step it depends on failed (the VM
// is not running), `unknown` when a fact could not be read (PF without root). Only `fail` fails
// the command: an unknown is not a finding, and the output says how to make it known (--sudo).
import { formatRange, type Forward, type Ipv4Address, type VmSpec } from "../../compiler/ir.js";
import { forwardInterfaces, type DiagnoseFacts } from "./diagnose-steps/facts.js";
import { STEPS } from "./diagnose-steps/index.js";
import { skipped, type DiagnoseStep, type Step, type StepId, type StepInput } from "./diagnose-steps/step.js";
import { allKnown, anyFailed, type Severity } from "./finding.js";

export type { AddressFact, DiagnoseFacts } from "./diagnose-steps/facts.js";
export { forwardInterfaces, MAX_PORTS_PER_FORWARD, portsToProbe, wanInterfacesToCheck } from "./diagnose-steps/facts.js";
export type { Step, StepId } from "./diagnose-steps/step.js";
export type { Reading } from "./reading.js";
/** pass/warn/fail/unknown/skip: a step's severity, named `verdict` in diagnose's JSON. */
export type Verdict = Severity;

export interface ForwardDiagnosis {
  /** The forward's name; null when the annotation gives none to check (the VM's steps only). */
  name: string | null;
  /** `tcp en0:2222 → 192.168.105.2:22`, as far as it is known. */
  route: string | null;
  steps: Step[];
}

export interface Diagnosis {
  instance: string;
  /** No step failed. */
  ok: boolean;
  /** Every step could be judged (none unknown). */
  complete: boolean;
  forwards: ForwardDiagnosis[];
  notes: string[];
}

/** The steps judged once for the VM (repeated in each forward's list), by the descriptors. */
export const VM_STEPS: ReadonlySet<StepId> = new Set(STEPS.filter((s) => s.per === "vm").map((s) => s.id));

export function diagnose(facts: DiagnoseFacts): Diagnosis {
  const spec = facts.annotation.spec;
  const vmAddress = facts.address?.kind === "found" ? facts.address.address : null;
  const vm = new Map<StepId, Step>();
  const judgeVm = (s: DiagnoseStep & { per: "vm" }) => vm.get(s.id) ?? vm.set(s.id, s.judge(facts)).get(s.id)!;
  const judge = (input: StepInput | null): Step[] => {
    const done = new Map<StepId, Step>();
    for (const s of STEPS) {
      if (s.when && !s.when(facts, input?.forward ?? null)) continue;
      const result = blockedBy(s, done, facts) ?? (s.per === "vm" ? judgeVm(s) : input ? s.judge(input) : skipped(s.id, "no forward to check"));
      done.set(s.id, result);
    }
    return [...done.values()];
  };
  const forwards: ForwardDiagnosis[] =
    spec && spec.forwards.length > 0
      ? spec.forwards.map((forward) => {
          const { input, route } = forwardInput(facts, spec, forward, vmAddress);
          return { name: forward.name, route, steps: judge(input) };
        })
      : [{ name: null, route: null, steps: judge(null) }];
  const steps = forwards.flatMap((f) => f.steps);
  return { instance: facts.instance, ok: !anyFailed(steps), complete: allKnown(steps), forwards, notes: notes(facts, steps) };
}

/** Skipped, when a step it depends on failed (that step says why) or was itself skipped (for the same reason). */
function blockedBy(s: DiagnoseStep, done: ReadonlyMap<StepId, Step>, facts: DiagnoseFacts): Step | null {
  for (const id of s.dependsOn) {
    const dependency = done.get(id);
    if (dependency?.severity === "skip") return skipped(s.id, dependency.detail);
    if (dependency?.severity === "fail") return skipped(s.id, STEPS.find((d) => d.id === id)!.blocks?.(facts) ?? `${dependency.title} failed`);
  }
  return null;
}

/** What a forward's steps are judged with, and its route: `tcp en0:2222 → 192.168.105.2:22`. */
function forwardInput(facts: DiagnoseFacts, spec: VmSpec, forward: Forward, vmAddress: Ipv4Address | null): { input: StepInput; route: string } {
  const state = facts.state.ok ? facts.state.value : null;
  const applied = state?.vms[facts.instance] ?? null;
  const interfaces = forwardInterfaces(forward, applied !== null, state, facts.defaultInterface);
  const target = vmAddress ?? applied?.address ?? null;
  const route = `${forward.protocol} ${interfaces.join(",") || "?"}:${formatRange(forward.host)} → ${target ?? facts.instance}:${formatRange(forward.guest)}`;
  return { input: { facts, spec, forward, vmAddress, interfaces, applied: applied !== null }, route };
}

function notes(facts: DiagnoseFacts, steps: Step[]): string[] {
  const spec = facts.annotation.spec;
  const notes: string[] = [];
  const vmAddress = facts.address?.kind === "found" ? facts.address.address : null;
  notes.push(
    `PF redirects only connections that arrive on the WAN interface: this Mac's own connections (to 127.0.0.1 or its own address) are not redirected, so a test from the Mac proves nothing.${vmAddress ? ` From the Mac, reach the VM directly at ${vmAddress}.` : ""}`,
  );
  const publicAddress = facts.publicAddress?.ok ? facts.publicAddress.value : null;
  const wanAddress = publicAddress ?? [...facts.interfaces.values()].flatMap((r) => (r.ok && r.value ? r.value.ipv4 : []))[0] ?? "MAC-ADDRESS";
  const tests = (spec?.forwards ?? []).map((f) => outsideTest(f, wanAddress));
  if (tests.length > 0) notes.push(`Test from outside (another network, e.g. a phone off Wi-Fi): ${tests.join("; ")}.`);
  if (steps.some((s) => s.severity === "unknown" && s.cause === "needs-root")) {
    notes.push(`Steps marked unknown need root to read PF and LimaWAN's record: \`limactl limawan diagnose ${facts.instance} --sudo\`.`);
  }
  return notes;
}

function outsideTest(forward: Forward, address: string): string {
  const port = forward.host.first;
  if (forward.protocol === "udp") return `${forward.name}: \`nc -vzu ${address} ${port}\` (UDP has no handshake: silence proves nothing)`;
  if (forward.name === "http" || forward.guest.first === 80) return `${forward.name}: \`curl -v http://${address}:${port}/\``;
  if (forward.name === "https" || forward.guest.first === 443) return `${forward.name}: \`curl -vk https://${address}:${port}/\``;
  if (forward.name === "ssh" || forward.guest.first === 22) return `${forward.name}: \`ssh -p ${port} USER@${address}\``;
  return `${forward.name}: \`nc -vz ${address} ${port}\``;
}
