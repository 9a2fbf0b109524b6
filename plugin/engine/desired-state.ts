// Which VMs should be forwarded, and with what: the one answer every command and the watcher
// use. Instances are read applied-first (an applied VM keeps its ports: an edit elsewhere
// cannot take them), each annotation compiled against the VMs already holding ports, each
// valid VM placed at its address. The selection says which instances are read; the policy
// holds the real differences between a command a user typed and the daemon.
import { hasErrors, type Diagnostic } from "../../compiler/diagnostic.js";
import { protocolsOf, type Ipv4Address, type VmSpec } from "../../compiler/ir.js";
import { compileFiles, type SetResult } from "../../compiler/pipeline.js";
import { CliError, EXIT } from "../errors.js";
import type { Host } from "../host/index.js";
import { noSuchInstance, type Instance } from "../host/lima.js";
import type { AppliedVm, State } from "./state.js";
import { guestAddress } from "./locate-guest.js";
import { noAddress, notStarted, unreachableError, unreachableReason } from "./vm-address.js";

/** Ports probed per range at most: a 10,000-port range is not worth 10,000 binds. */
const MAX_PROBES_PER_FORWARD = 256;

export type Selection =
  /** `up NAME…`: read these; the other applied VMs keep their rules while they run. */
  | { read: "named"; names: readonly string[] }
  /** `up --all`, the watcher: every running instance. */
  | { read: "running" }
  /**
   * `status`: these instances (default every one), stopped ones too, each checked against the
   * rules loaded for the others (what conflicts now); nothing is placed.
   */
  | { read: "every"; names?: readonly string[] }
  /** `down NAME…` (or every VM), `uninstall`: read nothing; the rest of the applied VMs stay. */
  | { read: "none"; drop: readonly string[] | "all" };

/**
 * The real differences between a command a user typed and the daemon. An annotation with errors
 * costs only its own VM either way: the VM keeps its last valid rules (a typo does not take
 * down a working forward), or is not forwarded, and the others are applied.
 */
export interface DesiredPolicy {
  /** A VM that cannot be placed yet (no address, no vmnet, a refused address): refuse (up) or report and wait (watch). */
  unplaced: "refuse" | "wait";
  /** Refuse a newly claimed host port a process on this Mac listens on: an rdr would steal its clients. */
  probeHostPorts: boolean;
  /** Leave instances `down` took out alone (the watcher); `up` releases them instead. */
  skipHeldDown: boolean;
}

export const UP_POLICY: DesiredPolicy = { unplaced: "refuse", probeHostPorts: true, skipHeldDown: false };
export const WATCH_POLICY: DesiredPolicy = { unplaced: "wait", probeHostPorts: false, skipHeldDown: true };

export interface DesiredOptions {
  /** Addresses already found (up --wait looks them up before taking the state lock). */
  knownAddresses?: ReadonlyMap<string, Ipv4Address>;
  /** `limactl list` started early (the watcher asks Lima while pfctl is asked). */
  listing?: Promise<Instance[]>;
  /** `every` only: leave `address` null (diagnose looks addresses up itself, with their source). */
  skipAddresses?: boolean;
}

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
  /** The instances held down after this change (down adds, up releases). */
  heldDown: string[];
}

/** The lima.yaml texts read, for code frames under diagnostics. */
export function sourcesOf(desired: Pick<DesiredState, "read">): Map<string, string> {
  return new Map(desired.read.map((r) => [r.file, r.text]));
}

export async function desiredState(host: Host, state: State, selection: Selection, policy: DesiredPolicy = WATCH_POLICY, options: DesiredOptions = {}): Promise<DesiredState> {
  const applied = state.vms;
  if (selection.read === "none") return dropping(state, selection.drop);

  const listing = await (options.listing ?? host.lima.list());
  const byName = new Map(listing.map((i) => [i.name, i]));
  const running = (name: string) => byName.get(name)?.status === "Running";
  const notes: string[] = [];
  const skipped: Skipped[] = [];
  let heldDown = state.heldDown;

  let names: string[];
  if (selection.read === "named") {
    for (const name of selection.names) {
      if (!byName.has(name)) throw noSuchInstance(name);
      if (!running(name)) throw notStarted(host, byName.get(name)!);
    }
    names = [...new Set(selection.names)];
    heldDown = heldDown.filter((name) => !names.includes(name));
  } else if (selection.read === "every") {
    // A name Lima does not list is an error, as for `up`, unless forwards of it are still applied (a deleted VM).
    for (const name of selection.names ?? []) if (!byName.has(name) && !(name in applied)) throw noSuchInstance(name);
    names = selection.names ? selection.names.filter((n) => byName.has(n)) : listing.map((i) => i.name);
  } else {
    names = listing.filter((i) => running(i.name)).map((i) => i.name);
    if (!policy.skipHeldDown) heldDown = [];
  }
  if (policy.skipHeldDown && selection.read !== "every") {
    for (const name of names.filter((n) => heldDown.includes(n))) {
      skipped.push({ instance: name, reason: `held down by \`limactl limawan down\`; \`limactl limawan up ${name}\` forwards it again`, diagnostics: [] });
    }
    names = names.filter((n) => !heldDown.includes(n));
  }

  // Applied VMs not read again keep their rules while they run.
  const kept: AppliedVm[] = [];
  if (selection.read !== "every") {
    for (const vm of Object.values(applied)) {
      if (names.includes(vm.instance)) continue;
      if (running(vm.instance) && selection.read === "named") kept.push(vm);
      else if (!running(vm.instance)) notes.push(`${vm.instance}: no longer running, removing its stale forwards`);
    }
  }

  // Applied first: each holds its ports until it is read itself.
  const order = [...names].sort((a, b) => Number(!(a in applied)) - Number(!(b in applied)) || (selection.read === "named" ? 0 : a.localeCompare(b)));
  const read: ReadVm[] = [];
  for (const name of order) {
    const file = host.lima.configFile(name);
    try {
      read.push({ instance: byName.get(name)!, file, text: await host.lima.readConfig(name), result: null as unknown as SetResult, address: null });
    } catch (error) {
      const reason = error instanceof CliError ? error.message : `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
      skipped.push({ instance: name, reason, diagnostics: [] });
    }
  }

  if (selection.read === "every") {
    // What conflicts with the rules loaded now: each file on its own against the applied others.
    const results = compileFiles(read.map(sourceOf), { kept: Object.values(applied).map((vm) => vm.spec), claims: false });
    for (const [i, entry] of read.entries()) {
      entry.result = results[i]!;
      if (running(entry.instance.name) && !options.skipAddresses) entry.address = await lookUpAddress(host, entry.instance, policy, skipped, false);
    }
    return { vms: [], read, skipped, waiting: [], notes, heldDown };
  }

  // Compile, place, and compile again without the VMs that could not be placed: a VM that is
  // not forwarded must not hold ports against the others.
  const unplaced = new Set<string>();
  const addresses = new Map<string, Ipv4Address | null>(options.knownAddresses ?? []);
  for (;;) {
    const candidates = read.filter((r) => !unplaced.has(r.instance.name));
    const results = compileFiles(candidates.map(sourceOf), {
      kept: kept.map((vm) => vm.spec),
      held: candidates.map((r) => applied[r.instance.name]?.spec ?? null),
      keepLastValid: true,
    });
    candidates.forEach((entry, i) => (entry.result = results[i]!));

    let dropped = false;
    for (const entry of candidates) {
      const name = entry.instance.name;
      const spec = entry.result.spec ?? entry.result.lastValid;
      if (!entry.result.annotated || !spec) continue;
      if (!addresses.has(name)) addresses.set(name, await lookUpAddress(host, entry.instance, policy, skipped, selection.read === "named"));
      entry.address = addresses.get(name) ?? null;
      if (entry.address) continue;
      if (policy.unplaced === "refuse" && !skipped.some((s) => s.instance === name)) throw noAddress(host, name);
      if (!applied[name]) {
        unplaced.add(name);
        dropped = true;
      }
    }
    if (!dropped) break;
  }

  const vms: AppliedVm[] = [...kept];
  const waiting: string[] = [];
  for (const entry of read) {
    const name = entry.instance.name;
    const previous = applied[name];
    if (!entry.result.annotated) {
      // A file LimaWAN could not read (too large, too deep, not YAML) may hold an annotation.
      if (hasErrors(entry.result.diagnostics)) skipped.push({ instance: name, reason: "lima.yaml cannot be read", diagnostics: entry.result.diagnostics });
      else notes.push(`${name}: no x-limawan annotation, nothing to expose`);
      continue;
    }
    const spec = entry.result.spec ?? entry.result.lastValid;
    if (!entry.result.spec) {
      const reason = spec ? "annotation has errors; keeping its last valid rules" : previous ? "annotation has errors, and its last valid rules clash with another VM's now; not forwarded" : "annotation has errors";
      skipped.push({ instance: name, reason, diagnostics: entry.result.diagnostics });
    }
    if (!spec) continue;
    // An applied VM whose address cannot be found now keeps the last one checked.
    const address = entry.address ?? previous?.address ?? null;
    if (!address) {
      if (!skipped.some((s) => s.instance === name)) waiting.push(name);
      continue;
    }
    vms.push({ instance: name, file: entry.file, address, spec });
  }
  if (policy.probeHostPorts) await refuseBusyPorts(host, vms, applied);
  return { vms, read, skipped, waiting, notes, heldDown };
}

/** `down`, `uninstall`: the applied VMs minus the dropped ones, which are held down. */
function dropping(state: State, drop: readonly string[] | "all"): DesiredState {
  const names = drop === "all" ? Object.keys(state.vms) : drop;
  const notes = drop === "all" ? [] : drop.filter((name) => !(name in state.vms)).map((name) => `${name}: no forwards applied`);
  return {
    vms: Object.values(state.vms).filter((vm) => !names.includes(vm.instance)),
    read: [],
    skipped: [],
    waiting: [],
    notes,
    // Held down, so the watcher does not bring them straight back; `up` releases them.
    heldDown: [...new Set([...state.heldDown, ...names])].sort(),
  };
}

function sourceOf(entry: ReadVm): { vm: string; file: string; text: string } {
  return { vm: entry.instance.name, file: entry.file, text: entry.text };
}

/**
 * The VM's address now, from its lease or the guest; null when it has none yet. A VM PF cannot
 * reach, or an address PF must never redirect to, is refused (up) or reported (watch). A host
 * command that failed on the VM's behalf (its guest printing past the output limit) fails `up`
 * only for a VM it `named`: `up --all`, like the watcher, reports it and forwards the others.
 */
async function lookUpAddress(host: Host, instance: Instance, policy: DesiredPolicy, skipped: Skipped[], named: boolean): Promise<Ipv4Address | null> {
  const unreachable = unreachableReason(instance);
  if (unreachable) {
    if (policy.unplaced === "refuse") throw unreachableError(instance.name, unreachable);
    skipped.push({ instance: instance.name, reason: `${unreachable.message}; ${unreachable.hint}`, diagnostics: [] });
    return null;
  }
  try {
    return await guestAddress(host, instance);
  } catch (error) {
    const reported = error instanceof CliError;
    const failedCommand = reported && (error.reason === "host-command" || error.reason === "output-too-large");
    if (policy.unplaced === "refuse" && (!reported || named || !failedCommand)) throw error;
    // A refused address (guestAddress says why) or a failed command is reported; a failed lookup just waits.
    if (reported) skipped.push({ instance: instance.name, reason: error.message, diagnostics: [] });
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

export type { VmSpec };
