// Which VMs should be forwarded, and with what: read each instance's lima.yaml, compile it
// against the VMs that keep their ports (first come, first served), find its address.
import type { Diagnostic } from "../compiler/diagnostic.js";
import { protocolsOf, type VmSpec } from "../compiler/ir.js";
import { compileFile } from "../compiler/pipeline.js";
import { specClashes } from "../compiler/validate/clashes.js";
import type { Context } from "./context.js";
import { CliError, EXIT } from "./errors.js";
import type { Instance } from "./host/lima.js";
import { probePort } from "./host/listeners.js";
import type { AppliedVm } from "./state.js";
import { vmAddress } from "./vm-address.js";

/** Ports probed per range at most: a 10,000-port range is not worth 10,000 binds. */
const MAX_PROBES_PER_FORWARD = 256;

export interface Candidate { instance: string; file: string; text: string }

export interface CompiledVm { instance: string; file: string; text: string; spec: VmSpec | null; annotated: boolean; diagnostics: Diagnostic[] }

export async function readCandidate(ctx: Context, instance: string): Promise<Candidate> {
  const file = ctx.lima.configFile(instance);
  try {
    return { instance, file, text: await ctx.lima.readConfig(instance) };
  } catch (error) {
    throw new CliError(EXIT.FAILURE, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** Compile candidates in order; each is checked against `kept` and the ones before it. */
export function compileCandidates(candidates: readonly Candidate[], kept: readonly VmSpec[]): CompiledVm[] {
  const accepted = [...kept];
  return candidates.map((c) => {
    const result = compileFile({ vm: c.instance, file: c.file, text: c.text }, accepted);
    if (result.spec) accepted.push(result.spec);
    return { instance: c.instance, file: c.file, text: c.text, spec: result.spec, annotated: result.annotated, diagnostics: result.diagnostics };
  });
}

export function isRunning(instance: Instance | undefined): boolean {
  return instance?.status === "Running";
}

/** VMs from the state that stay: still running, not being re-read. */
export function keptVms(state: Record<string, AppliedVm>, instances: ReadonlyMap<string, Instance>, rereading: ReadonlySet<string>, log: (m: string) => void): AppliedVm[] {
  const kept: AppliedVm[] = [];
  for (const vm of Object.values(state)) {
    if (rereading.has(vm.instance)) continue;
    if (!isRunning(instances.get(vm.instance))) {
      log(`${vm.instance}: no longer running, removing its stale forwards`);
      continue;
    }
    kept.push(vm);
  }
  return kept;
}

export async function placeVm(ctx: Context, compiled: CompiledVm & { spec: VmSpec }, waitSeconds: number): Promise<AppliedVm> {
  const { address } = await vmAddress(ctx, compiled.instance, waitSeconds);
  return { instance: compiled.instance, file: compiled.file, address, spec: compiled.spec };
}

/** Refuse host ports a process on this Mac already listens on (only for newly claimed ports). */
export async function refuseBusyPorts(vms: readonly AppliedVm[], previously: Record<string, AppliedVm>): Promise<void> {
  for (const vm of vms) {
    const before = previously[vm.instance];
    for (const forward of vm.spec.forwards) {
      const known = before?.spec.forwards.some((f) => f.host.first === forward.host.first && f.host.last === forward.host.last && f.protocol === forward.protocol);
      if (known) continue;
      const last = Math.min(forward.host.last, forward.host.first + MAX_PROBES_PER_FORWARD - 1);
      for (const protocol of protocolsOf(forward.protocol)) {
        for (let port = forward.host.first; port <= last; port++) {
          if ((await probePort(protocol, port)) === "in-use") {
            throw new CliError(
              EXIT.FAILURE,
              `host ${protocol} port ${port} (${vm.instance}/${forward.name}) is already used by a process on this Mac`,
              `Stop that process or pick another host port; \`lsof -nP -i${protocol.toUpperCase()}:${port}\` shows who holds it. Nothing was applied.`,
            );
          }
        }
      }
    }
  }
}

export interface Skipped { instance: string; reason: string; diagnostics: Diagnostic[] }

/**
 * The watcher's view: every running, annotated instance, applied VMs first (they keep their
 * ports). An invalid annotation keeps the VM's last valid rules, if any; a VM without an
 * address yet is skipped until its lease appears.
 */
export async function desiredFromLima(
  ctx: Context,
  applied: Record<string, AppliedVm>,
  listing: Promise<Instance[]> = ctx.lima.list(),
  heldDown: readonly string[] = [],
): Promise<{ vms: AppliedVm[]; skipped: Skipped[]; waitingForAddress: string[] }> {
  const running = (await listing).filter((i) => isRunning(i));
  const held = running.filter((i) => heldDown.includes(i.name));
  const instances = running.filter((i) => !heldDown.includes(i.name));
  const order = [...instances].sort((a, b) => Number(!(b.name in applied)) - Number(!(a.name in applied)) || a.name.localeCompare(b.name));
  const vms: AppliedVm[] = [];
  const skipped: Skipped[] = held.map((i) => ({ instance: i.name, reason: `held down by \`limactl limawan down\`; \`limactl limawan up ${i.name}\` forwards it again`, diagnostics: [] }));
  const waitingForAddress: string[] = [];
  // Applied VMs not read yet still hold their ports: an edit elsewhere cannot take them.
  const holding = new Map(order.filter((i) => i.name in applied).map((i) => [i.name, applied[i.name]!.spec]));
  for (const instance of order) {
    holding.delete(instance.name);
    let candidate: Candidate;
    try {
      candidate = await readCandidate(ctx, instance.name);
    } catch (error) {
      skipped.push({ instance: instance.name, reason: (error as Error).message, diagnostics: [] });
      continue;
    }
    const accepted = vms.map((vm) => vm.spec);
    const [compiled] = compileCandidates([candidate], [...accepted, ...holding.values()]);
    if (!compiled!.annotated) continue;
    const previous = applied[instance.name];
    let spec = compiled!.spec;
    if (!spec) {
      // The last valid rules stay only while no VM accepted since has claimed their ports.
      const keep = previous !== undefined && !specClashes(previous.spec, accepted);
      const reason = keep ? "annotation has errors; keeping its last valid rules" : previous ? "annotation has errors, and its last valid rules clash with another VM's now; not forwarded" : "annotation has errors";
      skipped.push({ instance: instance.name, reason, diagnostics: compiled!.diagnostics });
      if (!keep) continue;
      spec = previous.spec;
    }
    const address =
      (await ctx.lima.guestAddress(instance).catch((error: unknown) => {
        // A refused address (guestAddress says why) is reported; a failed lookup just waits.
        if (error instanceof CliError) skipped.push({ instance: instance.name, reason: error.message, diagnostics: [] });
        return null;
      })) ??
      previous?.address ??
      null;
    if (!address) {
      waitingForAddress.push(instance.name);
      continue;
    }
    vms.push({ instance: instance.name, file: candidate.file, address, spec });
  }
  return { vms, skipped, waitingForAddress };
}
