// Which VMs should be forwarded, and with what: the one answer every command and the watcher
// use. Instances are read applied-first (an applied VM keeps its ports: an edit elsewhere
// cannot take them), each annotation compiled against the VMs already holding ports, each
// valid VM placed at its address. The selection says which instances are read; the policy
// holds the real differences between a command a user typed and the daemon.
import { hasErrors, type Diagnostic } from "../../compiler/diagnostic.js";
import { protocolsOf, type Ipv4Address } from "../../compiler/ir.js";
import { compileFiles, type SetResult } from "../../compiler/pipeline.js";
import { CliError, EXIT } from "../errors.js";
import type { Host } from "../host/index.js";
import { routableNetworks, type Instance } from "../host/lima.js";
import type { AppliedVm, State } from "./state.js";
import { noAddress, notRunning, noVmnetRefusal } from "./vm-address.js";

/** Ports probed per range at most: a 10,000-port range is not worth 10,000 binds. */
const MAX_PROBES_PER_FORWARD = 256;

export type Selection =
  /** `up NAME…`: read these; the other applied VMs keep their rules while they run. */
  | { read: "named"; names: readonly string[] }
  /** `up --all`, the watcher: every running instance. */
  | { read: "running" }
  /** `status`: every instance, stopped ones too (their forwards are listed as inactive). */
  | { read: "every" }
  /** `down NAME…` (or every VM), `uninstall`: read nothing; the rest of the applied VMs stay. */
  | { read: "none"; drop: readonly string[] | "all" };

export interface Policy {
  /** Leave instances `down` took out alone (the watcher); `up` releases them instead. */
  skipHeldDown: boolean;
  /** An annotation with errors: refuse the change (up) or keep the VM's last valid rules (watch). */
  invalid: "refuse" | "keep-last-valid";
  /** A VM without an address yet: refuse (up) or wait for its lease (watch). */
  missingAddress: "refuse" | "wait";
  /** Refuse a newly claimed host port a process on this Mac listens on: an rdr would steal its clients. */
  probeHostPorts: boolean;
  /** Addresses already found (up --wait looks them up before taking the state lock). */
  knownAddresses?: ReadonlyMap<string, Ipv4Address>;
}

export const UP_POLICY: Policy = { skipHeldDown: false, invalid: "refuse", missingAddress: "refuse", probeHostPorts: true };
export const WATCH_POLICY: Policy = { skipHeldDown: true, invalid: "keep-last-valid", missingAddress: "wait", probeHostPorts: false };
export const STATUS_POLICY: Policy = { skipHeldDown: false, invalid: "keep-last-valid", missingAddress: "wait", probeHostPorts: false };

/** One instance as read: its file, its text and what the compiler made of it. */
export interface ReadVm {
  instance: Instance;
  file: string;
  text: string;
  result: SetResult;
  /** The address found now (null: none yet, not running, or refused — see `skipped`). */
  address: Ipv4Address | null;
}

export interface Skipped { instance: string; reason: string; diagnostics: Diagnostic[] }

export interface DesiredState {
  /** The VMs to forward, applied ones first. */
  vms: AppliedVm[];
  read: ReadVm[];
  /** Instances not forwarded, and why (the watcher reports each once per change). */
  skipped: Skipped[];
  /** Running and valid, but no address yet: the watcher looks again soon. */
  waiting: string[];
  /** What a user should hear (a VM no longer running, one without an annotation). */
  notes: string[];
}

/** The lima.yaml texts read, for code frames under diagnostics. */
export function sourcesOf(desired: Pick<DesiredState, "read">): Map<string, string> {
  return new Map(desired.read.map((r) => [r.file, r.text]));
}

export async function desiredState(host: Host, state: State, selection: Selection, policy: Policy): Promise<DesiredState> {
  const applied = state.vms;
  if (selection.read === "none") {
    const vms = selection.drop === "all" ? [] : Object.values(applied).filter((vm) => !selection.drop.includes(vm.instance));
    return { vms, read: [], skipped: [], waiting: [], notes: [] };
  }

  const listing = await host.lima.list();
  const byName = new Map(listing.map((i) => [i.name, i]));
  const running = (name: string) => byName.get(name)?.status === "Running";
  const notes: string[] = [];
  const skipped: Skipped[] = [];

  let names: string[];
  if (selection.read === "named") {
    for (const name of selection.names) {
      if (!byName.has(name)) throw new CliError(EXIT.FAILURE, `no Lima instance named \`${name}\``, "See `limactl list`.");
      if (policy.missingAddress === "refuse" && !running(name) && !policy.knownAddresses?.has(name)) throw notRunning(name, byName.get(name)!.status);
    }
    names = [...new Set(selection.names)];
  } else {
    names = listing.filter((i) => selection.read === "every" || running(i.name)).map((i) => i.name);
  }
  if (policy.skipHeldDown) {
    for (const name of names.filter((n) => state.heldDown.includes(n) && running(n))) {
      skipped.push({ instance: name, reason: `held down by \`limactl limawan down\`; \`limactl limawan up ${name}\` forwards it again`, diagnostics: [] });
    }
    names = names.filter((n) => !state.heldDown.includes(n));
  }

  // Applied VMs not read again keep their rules while they run.
  const kept: AppliedVm[] = [];
  for (const vm of Object.values(applied)) {
    if (names.includes(vm.instance)) continue;
    if (running(vm.instance) && selection.read === "named") kept.push(vm);
    else if (!running(vm.instance)) notes.push(`${vm.instance}: no longer running, removing its stale forwards`);
  }

  // Applied first: each holds its ports until it is read itself.
  const order = [...names].sort((a, b) => Number(!(a in applied)) - Number(!(b in applied)) || (selection.read === "named" ? 0 : a.localeCompare(b)));
  const sources: Array<{ instance: Instance; vm: string; file: string; text: string }> = [];
  for (const name of order) {
    const file = host.lima.configFile(name);
    try {
      sources.push({ instance: byName.get(name)!, vm: name, file, text: await host.lima.readConfig(name) });
    } catch (error) {
      const reason = `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
      if (policy.invalid === "refuse") throw new CliError(EXIT.FAILURE, reason);
      skipped.push({ instance: name, reason, diagnostics: [] });
    }
  }
  const results = compileFiles(sources, {
    kept: kept.map((vm) => vm.spec),
    held: sources.map((s) => applied[s.vm]?.spec ?? null),
    keepLastValid: policy.invalid === "keep-last-valid",
  });
  const read: ReadVm[] = sources.map((s, i) => ({ instance: s.instance, file: s.file, text: s.text, result: results[i]!, address: null }));

  if (policy.invalid === "refuse") {
    const diagnostics = results.flatMap((r) => r.diagnostics);
    if (hasErrors(diagnostics)) {
      throw new CliError(EXIT.FAILURE, "the annotations have errors; nothing was applied", "Fix them (`limactl limawan check`) and run up again.", undefined, {
        items: diagnostics,
        sources: sourcesOf({ read }),
      });
    }
  }

  const vms: AppliedVm[] = [...kept];
  const waiting: string[] = [];
  for (const entry of read) {
    const name = entry.instance.name;
    if (!entry.result.annotated) {
      notes.push(`${name}: no x-limawan annotation, nothing to expose`);
      continue;
    }
    if (selection.read === "every") {
      // status: every running VM's address, whether or not its annotation is valid.
      if (running(name)) entry.address = await placeAt(host, entry.instance, policy, skipped);
      continue;
    }
    const previous = applied[name];
    const spec = entry.result.spec ?? entry.result.lastValid;
    if (!entry.result.spec) {
      const reason = spec ? "annotation has errors; keeping its last valid rules" : previous ? "annotation has errors, and its last valid rules clash with another VM's now; not forwarded" : "annotation has errors";
      skipped.push({ instance: name, reason, diagnostics: entry.result.diagnostics });
    }
    if (!spec) continue;
    entry.address = await placeAt(host, entry.instance, policy, skipped);
    const address = entry.address ?? previous?.address ?? null;
    if (!address) {
      if (policy.missingAddress === "refuse") throw noAddress(host, name);
      waiting.push(name);
      continue;
    }
    vms.push({ instance: name, file: entry.file, address, spec });
  }
  if (policy.probeHostPorts) await refuseBusyPorts(host, vms, applied);
  return { vms, read, skipped, waiting, notes };
}

/** The VM's address now: known already, from its lease, or from the guest; null if none yet. */
async function placeAt(host: Host, instance: Instance, policy: Policy, skipped: Skipped[]): Promise<Ipv4Address | null> {
  const known = policy.knownAddresses?.get(instance.name);
  if (known) return known;
  if (policy.missingAddress === "refuse") {
    noVmnetRefusal(instance);
    return host.lima.guestAddress(instance);
  }
  if (routableNetworks(instance).length === 0) {
    skipped.push({ instance: instance.name, reason: "no vmnet network, so PF cannot reach it; add `networks: [{lima: shared}]` and restart it", diagnostics: [] });
    return null;
  }
  try {
    return await host.lima.guestAddress(instance);
  } catch (error) {
    // A refused address (guestAddress says why) is reported; a failed lookup just waits.
    if (error instanceof CliError) skipped.push({ instance: instance.name, reason: error.message, diagnostics: [] });
    return null;
  }
}

/** Refuse host ports a process on this Mac already listens on (only newly claimed ports). */
async function refuseBusyPorts(host: Host, vms: readonly AppliedVm[], previously: Readonly<Record<string, AppliedVm>>): Promise<void> {
  for (const vm of vms) {
    const before = previously[vm.instance];
    for (const forward of vm.spec.forwards) {
      const known = before?.spec.forwards.some((f) => f.host.first === forward.host.first && f.host.last === forward.host.last && f.protocol === forward.protocol);
      if (known) continue;
      const last = Math.min(forward.host.last, forward.host.first + MAX_PROBES_PER_FORWARD - 1);
      for (const protocol of protocolsOf(forward.protocol)) {
        for (let port = forward.host.first; port <= last; port++) {
          if ((await host.listeners.probe(protocol, port)) === "in-use") {
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
