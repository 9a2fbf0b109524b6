// Which VMs should be forwarded, and with what: the one answer every command and the watcher
// use. Read first, then decide: each entry point below gathers the facts through the host
// (Lima's listing, each lima.yaml, the addresses asked for, port probes) and the functions
// after them decide from those facts alone (plain data in, plain data out, no I/O).
//
// Instances are read applied-first (an applied VM keeps its ports: an edit elsewhere cannot
// take them), each annotation compiled against the VMs already holding ports, each valid VM
// placed at its address. The policy holds the real differences between a command a user typed
// and the daemon.
import { hasErrors, type Diagnostic } from "../../compiler/diagnostic.js";
import { protocolsOf, type Ipv4Address, type VmSpec } from "../../compiler/ir.js";
import { compileFiles, type CompileSetOptions, type SetResult, type SourceFile } from "../../compiler/pipeline.js";
import { CliError, EXIT } from "../errors.js";
import type { Host } from "../host/index.js";
import { noSuchInstance, type Instance } from "../host/lima.js";
import type { AppliedVm, State } from "./state.js";
import { guestAddress } from "./locate-guest.js";
import { noAddressIn, notStartedAt, unreachableError, unreachableReason } from "./vm-address.js";

/** Ports probed per range at most: a 10,000-port range is not worth 10,000 binds. */
const MAX_PROBES_PER_FORWARD = 256;

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

// ---------------------------------------------------------------------------------------------
// The facts: what the host said, as plain data.

/** An instance's lima.yaml as read: its text, or why it could not be read. */
export interface VmFile { instance: Instance; file: string; text: string | { unreadable: string } }

/** What looking up a VM's address gave: an address, none yet (null), or the error it raised (a refused address, a failed command). */
export type AddressFact = { address: Ipv4Address | null } | { failed: unknown };

export interface DesiredFacts {
  /** Lima's listing. */
  listing: readonly Instance[];
  /** The lima.yaml files read, in the order they are decided (Reading.names). */
  files: readonly VmFile[];
  /** The addresses looked up (or already known: up --wait), by instance. */
  addresses: ReadonlyMap<string, AddressFact>;
  /** bootpd's lease file, named when an address is refused for want of a lease. */
  leasesFile: string;
}

/** Compiles a set of files (compile-cache.ts memoises it for the watcher). */
export type CompileSet = (sources: readonly SourceFile[], options: CompileSetOptions) => SetResult[];

// ---------------------------------------------------------------------------------------------
// The entry points: read, then decide.

export interface UpOptions {
  /** Addresses already found (up --wait looks them up before taking the state lock). */
  knownAddresses?: ReadonlyMap<string, Ipv4Address>;
}

/** `up NAME…`: the named VMs (each must be running), the other applied VMs keeping their rules while they run. */
export async function desiredForUp(host: Host, state: State, names: readonly string[], options: UpOptions = {}): Promise<DesiredState> {
  const listing = await host.lima.list();
  const reading = readingForUp(listing, state, names, (name) => host.lima.configFile(name));
  return decideWithLookups(host, state, listing, reading, UP_POLICY, options.knownAddresses, compileFiles);
}

export interface RunningOptions {
  /** `limactl list` already started (the watcher asks Lima while it does other work). */
  listing?: Promise<Instance[]>;
  /** The compiler to use (the watcher's memoised one). */
  compile?: CompileSet;
}

/** `up --all` (UP_POLICY) and the watcher (WATCH_POLICY): every running instance. */
export async function desiredForRunning(host: Host, state: State, policy: DesiredPolicy, options: RunningOptions = {}): Promise<DesiredState> {
  const listing = await (options.listing ?? host.lima.list());
  const reading = readingForRunning(listing, state, policy);
  return decideWithLookups(host, state, listing, reading, policy, undefined, options.compile ?? compileFiles);
}

export interface StatusOptions {
  /** Lima's listing when the caller has it (diagnose asked for one instance already). */
  listing?: Promise<Instance[]>;
  /** Leave `address` null (diagnose looks addresses up itself, with their source). */
  skipAddresses?: boolean;
}

/**
 * `status`, `diagnose`: these instances (default every one), stopped ones too, each checked
 * against the rules loaded for the others (what conflicts now); nothing is placed.
 */
export async function readForStatus(host: Host, state: State, names: readonly string[] | undefined, options: StatusOptions = {}): Promise<DesiredState> {
  const listing = await (options.listing ?? host.lima.list());
  const chosen = readingForStatus(listing, state, names);
  const files = await readFiles(host, listing, chosen);
  const running = (vm: VmFile) => vm.instance.status === "Running" && typeof vm.text === "string" && !unreachableReason(vm.instance);
  const wanted = options.skipAddresses ? [] : files.filter(running).map((vm) => vm.instance);
  const addresses = await lookUpAddresses(host, wanted);
  return decideForStatus(state, { listing, files, addresses, leasesFile: host.leases.file }, options.skipAddresses ?? false);
}

/** `down NAME…` (or every VM), `uninstall`: reads nothing; the applied VMs minus the dropped ones, which are held down. Pure. */
export function desiredWithout(state: State, drop: readonly string[] | "all"): DesiredState {
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

/**
 * Read the files, then decide; a decision that needs addresses not yet looked up names them,
 * they are looked up (only those: a VM whose annotation has errors, or none, costs no lookup),
 * and the decision is taken again from the facts so far. Then the ports it claims are probed.
 */
async function decideWithLookups(
  host: Host,
  state: State,
  listing: readonly Instance[],
  reading: Reading,
  policy: DesiredPolicy,
  known: ReadonlyMap<string, Ipv4Address> | undefined,
  compile: CompileSet,
): Promise<DesiredState> {
  const files = await readFiles(host, listing, reading.names);
  const addresses = new Map<string, AddressFact>([...(known ?? [])].map(([name, address]) => [name, { address }]));
  for (;;) {
    const decision = decideDesired(state, reading, { listing, files, addresses, leasesFile: host.leases.file }, policy, compile);
    if ("needs" in decision) {
      for (const [name, fact] of await lookUpAddresses(host, decision.needs)) addresses.set(name, fact);
      continue;
    }
    if (policy.probeHostPorts) {
      for (const claim of newlyClaimedPorts(decision.vms, state.vms)) {
        if ((await host.listeners.probe(claim.protocol, claim.port)) === "in-use") throw busyPort(claim);
      }
    }
    return decision;
  }
}

async function readFiles(host: Host, listing: readonly Instance[], names: readonly string[]): Promise<VmFile[]> {
  const byName = new Map(listing.map((i) => [i.name, i]));
  return Promise.all(
    names.map(async (name): Promise<VmFile> => {
      const file = host.lima.configFile(name);
      try {
        return { instance: byName.get(name)!, file, text: await host.lima.readConfig(name) };
      } catch (error) {
        const unreadable = error instanceof CliError ? error.message : `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
        return { instance: byName.get(name)!, file, text: { unreadable } };
      }
    }),
  );
}

/** Each instance's address from its lease or the guest, side by side; an error is kept as a fact for the decision to weigh. */
async function lookUpAddresses(host: Host, instances: readonly Instance[]): Promise<Map<string, AddressFact>> {
  const found = await Promise.all(
    instances.map(async (instance): Promise<[string, AddressFact]> => {
      try {
        return [instance.name, { address: await guestAddress(host, instance) }];
      } catch (failed) {
        return [instance.name, { failed }];
      }
    }),
  );
  return new Map(found);
}

// ---------------------------------------------------------------------------------------------
// Deciding: pure.

/** Which instances are read, and what becomes of the applied VMs that are not. */
export interface Reading {
  /** The instances to read, in the order they are decided (applied first). */
  names: string[];
  /** Applied VMs not read that keep their rules (`up NAME`: the others still running). */
  kept: AppliedVm[];
  notes: string[];
  skipped: Skipped[];
  heldDown: string[];
  /** Named on the command line: a failed lookup for such a VM fails the command. */
  named: boolean;
}

/** `up NAME…`: each name must be a running instance; up releases the holds on them. */
export function readingForUp(listing: readonly Instance[], state: State, names: readonly string[], configFile: (name: string) => string): Reading {
  const byName = new Map(listing.map((i) => [i.name, i]));
  for (const name of names) {
    const instance = byName.get(name);
    if (!instance) throw noSuchInstance(name);
    if (instance.status !== "Running") throw notStartedAt(instance, configFile(name));
  }
  const unique = [...new Set(names)];
  const notes: string[] = [];
  const kept: AppliedVm[] = [];
  for (const vm of Object.values(state.vms)) {
    if (unique.includes(vm.instance)) continue;
    if (byName.get(vm.instance)?.status === "Running") kept.push(vm);
    else notes.push(`${vm.instance}: no longer running, removing its stale forwards`);
  }
  return { names: appliedFirst(unique, state, false), kept, notes, skipped: [], heldDown: state.heldDown.filter((n) => !unique.includes(n)), named: true };
}

/** Every running instance: `up --all` releases every hold, the watcher skips the held ones. */
export function readingForRunning(listing: readonly Instance[], state: State, policy: DesiredPolicy): Reading {
  const running = new Set(listing.filter((i) => i.status === "Running").map((i) => i.name));
  const heldDown = policy.skipHeldDown ? state.heldDown : [];
  const skipped: Skipped[] = [...running]
    .filter((name) => heldDown.includes(name))
    .map((name) => ({ instance: name, reason: `held down by \`limactl limawan down\`; \`limactl limawan up ${name}\` forwards it again`, diagnostics: [] }));
  const names = [...running].filter((name) => !heldDown.includes(name));
  const notes = Object.values(state.vms)
    .filter((vm) => !names.includes(vm.instance) && !running.has(vm.instance))
    .map((vm) => `${vm.instance}: no longer running, removing its stale forwards`);
  return { names: appliedFirst(names, state, true), kept: [], notes, skipped, heldDown, named: false };
}

/** `status`: the names asked for (an unknown one is an error unless still applied: a deleted VM), else every instance. */
export function readingForStatus(listing: readonly Instance[], state: State, names: readonly string[] | undefined): string[] {
  const listed = new Set(listing.map((i) => i.name));
  for (const name of names ?? []) if (!listed.has(name) && !(name in state.vms)) throw noSuchInstance(name);
  const chosen = names ? names.filter((n) => listed.has(n)) : listing.map((i) => i.name);
  return appliedFirst(chosen, state, true);
}

/** Applied first: each holds its ports until it is read itself. */
function appliedFirst(names: readonly string[], state: State, byName: boolean): string[] {
  return [...names].sort((a, b) => Number(!(a in state.vms)) - Number(!(b in state.vms)) || (byName ? a.localeCompare(b) : 0));
}

/** What conflicts with the rules loaded now: each file on its own against the applied others. */
export function decideForStatus(state: State, facts: DesiredFacts, skipAddresses: boolean): DesiredState {
  const { read, skipped } = readable(facts.files);
  const results = compileFiles(read.map(sourceOf), { kept: Object.values(state.vms).map((vm) => vm.spec), claims: false });
  for (const [i, entry] of read.entries()) {
    entry.result = results[i]!;
    if (entry.instance.status !== "Running" || skipAddresses) continue;
    entry.address = placement(entry.instance, facts.addresses.get(entry.instance.name), WATCH_POLICY, false, skipped);
  }
  return { vms: [], read, skipped, waiting: [], notes: [], heldDown: state.heldDown };
}

/**
 * The VMs to forward, from the facts: compile, place, and compile again without the VMs that
 * could not be placed (a VM that is not forwarded must not hold ports against the others). When
 * a VM with rules has no address fact yet, the answer is the VMs whose addresses are needed.
 * Throws, for `up`, what refuses the command (policy.unplaced "refuse").
 */
export function decideDesired(state: State, reading: Reading, facts: DesiredFacts, policy: DesiredPolicy, compile: CompileSet = compileFiles): DesiredState | { needs: Instance[] } {
  const applied = state.vms;
  const { read, skipped: unreadable } = readable(facts.files);
  const skipped = [...reading.skipped, ...unreadable];
  const unplaced = new Set<string>();
  const addresses = new Map<string, Ipv4Address | null>();
  for (;;) {
    const candidates = read.filter((r) => !unplaced.has(r.instance.name));
    const results = compile(candidates.map(sourceOf), {
      kept: reading.kept.map((vm) => vm.spec),
      held: candidates.map((r) => applied[r.instance.name]?.spec ?? null),
      keepLastValid: true,
    });
    candidates.forEach((entry, i) => (entry.result = results[i]!));

    const needs: Instance[] = [];
    let dropped = false;
    for (const entry of candidates) {
      const name = entry.instance.name;
      const spec = entry.result.spec ?? entry.result.lastValid;
      if (!entry.result.annotated || !spec) continue;
      if (!addresses.has(name)) {
        const fact = facts.addresses.get(name);
        if (!fact && !unreachableReason(entry.instance)) {
          needs.push(entry.instance);
          continue;
        }
        addresses.set(name, placement(entry.instance, fact, policy, reading.named, skipped));
      }
      entry.address = addresses.get(name) ?? null;
      if (entry.address) continue;
      if (policy.unplaced === "refuse" && !skipped.some((s) => s.instance === name)) throw noAddressIn(facts.leasesFile, name);
      if (!applied[name]) {
        unplaced.add(name);
        dropped = true;
      }
    }
    if (needs.length > 0) return { needs };
    if (!dropped) break;
  }

  const vms: AppliedVm[] = [...reading.kept];
  const waiting: string[] = [];
  const notes = [...reading.notes];
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
  return { vms, read, skipped, waiting, notes, heldDown: reading.heldDown };
}

/** The files that could be read, as ReadVm (not compiled yet), and those that could not, skipped. */
function readable(files: readonly VmFile[]): { read: ReadVm[]; skipped: Skipped[] } {
  const read: ReadVm[] = [];
  const skipped: Skipped[] = [];
  for (const vm of files) {
    if (typeof vm.text === "string") read.push({ instance: vm.instance, file: vm.file, text: vm.text, result: null as unknown as SetResult, address: null });
    else skipped.push({ instance: vm.instance.name, reason: vm.text.unreadable, diagnostics: [] });
  }
  return { read, skipped };
}

function sourceOf(entry: ReadVm): SourceFile {
  return { vm: entry.instance.name, file: entry.file, text: entry.text };
}

/**
 * Where a VM is placed, from its address fact; null when it has none yet. A VM PF cannot
 * reach, or an address PF must never redirect to, is refused (up) or reported (watch). A host
 * command that failed on the VM's behalf (its guest printing past the output limit) fails `up`
 * only for a VM it `named`: `up --all`, like the watcher, reports it and forwards the others.
 */
function placement(instance: Instance, fact: AddressFact | undefined, policy: DesiredPolicy, named: boolean, skipped: Skipped[]): Ipv4Address | null {
  const unreachable = unreachableReason(instance);
  if (unreachable) {
    if (policy.unplaced === "refuse") throw unreachableError(instance.name, unreachable);
    skipped.push({ instance: instance.name, reason: `${unreachable.message}; ${unreachable.hint}`, diagnostics: [] });
    return null;
  }
  if (!fact) return null;
  if ("address" in fact) return fact.address;
  const error = fact.failed;
  const reported = error instanceof CliError;
  const failedCommand = reported && (error.reason === "host-command" || error.reason === "output-too-large");
  if (policy.unplaced === "refuse" && (!reported || named || !failedCommand)) throw error;
  // A refused address (locate-guest says why) or a failed command is reported; a failed lookup just waits.
  if (reported) skipped.push({ instance: instance.name, reason: error.message, diagnostics: [] });
  return null;
}

/** A host port a VM newly claims, to be probed for a local listener. */
export interface PortClaim { vm: string; forward: string; protocol: "tcp" | "udp"; port: number }

/** The host ports the VMs claim that their applied rules did not (at most MAX_PROBES_PER_FORWARD a range), in order. */
export function newlyClaimedPorts(vms: readonly AppliedVm[], previously: Readonly<Record<string, AppliedVm>>): PortClaim[] {
  const claims: PortClaim[] = [];
  for (const vm of vms) {
    const before = previously[vm.instance];
    for (const forward of vm.spec.forwards) {
      const known = before?.spec.forwards.some((f) => f.host.first === forward.host.first && f.host.last === forward.host.last && f.protocol === forward.protocol);
      if (known) continue;
      const last = Math.min(forward.host.last, forward.host.first + MAX_PROBES_PER_FORWARD - 1);
      for (const protocol of protocolsOf(forward.protocol)) {
        for (let port = forward.host.first; port <= last; port++) claims.push({ vm: vm.instance, forward: forward.name, protocol, port });
      }
    }
  }
  return claims;
}

/** Refuse a host port a process on this Mac already listens on: an rdr would steal its clients. */
export function busyPort(claim: PortClaim): CliError {
  return new CliError(
    EXIT.FAILURE,
    `host ${claim.protocol} port ${claim.port} (${claim.vm}/${claim.forward}) is already used by a process on this Mac`,
    `Stop that process or pick another host port; \`lsof -nP -i${claim.protocol.toUpperCase()}:${claim.port}\` shows who holds it. Nothing was applied.`,
  );
}

export type { VmSpec };
