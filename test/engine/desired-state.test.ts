// desired-state.ts's deciding, from plain facts: what Lima lists, each lima.yaml's text, each
// address as a lookup gave it. No host: which addresses a decision needs is itself an answer.
import { describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { banTableTwin } from "../ban-table-twin.js";
import { compileFile } from "../../compiler/pipeline.js";
import {
  busyPort,
  decideDesired,
  decideForStatus,
  desiredWithout,
  newlyClaimedPorts,
  readingForRunning,
  readingForStatus,
  readingForUp,
  UP_POLICY,
  WATCH_POLICY,
  type AddressFact,
  type DesiredFacts,
  type DesiredPolicy,
  type DesiredState,
  type Reading,
} from "../../plugin/engine/desired-state.js";
import { emptyState, type AppliedVm, type State } from "../../plugin/engine/state.js";
import { CliError, EXIT } from "../../plugin/errors.js";
import type { Instance } from "../../plugin/host/lima.js";

/** lima.yaml with the statements as a literal block (statement i on line 4 + i). */
const limaYaml = (...statements: string[]) => `networks:\n  - lima: shared\nx-limawan: |\n${statements.map((s) => `  ${s}\n`).join("")}`;

interface VmFact {
  status?: "Running" | "Stopped" | "Broken";
  /** null: the file cannot be read. */
  yaml?: string | null;
  /** What the address lookup gave (absent: not looked up); a CliError: the lookup refused or failed. */
  address?: string | null | CliError;
  network?: Instance["network"];
}

const SHARED: Instance["network"] = [{ lima: "shared", macAddress: "52:55:55:00:00:01", interface: "lima0" }];

function listingOf(vms: Record<string, VmFact>): Instance[] {
  return Object.keys(vms)
    .sort()
    .map((name) => ({ name, status: vms[name]!.status ?? "Running", dir: `/lima/${name}`, network: vms[name]!.network ?? SHARED }));
}

/** The facts an entry point would have read for this reading (every address given as looked up). */
function factsFor(vms: Record<string, VmFact>, names: readonly string[], only?: readonly string[]): DesiredFacts {
  const listing = listingOf(vms);
  const files = names.map((name) => {
    const yaml = vms[name]!.yaml;
    const file = `/lima/${name}/lima.yaml`;
    return { instance: listing.find((i) => i.name === name)!, file, text: yaml === null || yaml === undefined ? { unreadable: `cannot read ${file}: ENOENT` } : yaml };
  });
  const addresses = new Map<string, AddressFact>();
  for (const [name, vm] of Object.entries(vms)) {
    if (vm.address === undefined || (only && !only.includes(name))) continue;
    addresses.set(name, vm.address instanceof CliError ? { failed: vm.address } : { address: vm.address as Ipv4Address | null });
  }
  return { listing, files, addresses, leasesFile: "/var/db/dhcpd_leases" };
}

/** `up NAME…` decided from the facts. */
function up(vms: Record<string, VmFact>, state: State, names: string[]): DesiredState {
  const reading = readingForUp(listingOf(vms), state, names, (name) => `/lima/${name}/lima.yaml`);
  return decided(decideDesired(state, reading, factsFor(vms, reading.names), UP_POLICY));
}

/** Every running VM (up --all, the watcher) decided from the facts. */
function running(vms: Record<string, VmFact>, state: State, policy: DesiredPolicy = WATCH_POLICY): DesiredState {
  const reading = readingForRunning(listingOf(vms), state, policy);
  return decided(decideDesired(state, reading, factsFor(vms, reading.names), policy));
}

function decided(decision: DesiredState | { needs: Instance[] }): DesiredState {
  if ("needs" in decision) throw new Error(`the decision needs the addresses of ${decision.needs.map((i) => i.name).join(", ")}`);
  return decision;
}

/** `status` decided from the facts. */
function status(vms: Record<string, VmFact>, state: State, names?: string[]): DesiredState {
  const chosen = readingForStatus(listingOf(vms), state, names);
  return decideForStatus(state, factsFor(vms, chosen), false);
}

/** The state after `up` applied these VMs (as the watcher and up record them). */
function applied(vms: Record<string, { yaml: string; address: string }>, extra: Partial<State> = {}): State {
  const records: Record<string, AppliedVm> = {};
  for (const [name, vm] of Object.entries(vms)) {
    const spec = compileFile({ vm: name, file: `/lima/${name}/lima.yaml`, text: vm.yaml }).spec!;
    records[name] = { instance: name, file: `/lima/${name}/lima.yaml`, address: vm.address as Ipv4Address, spec };
  }
  return { ...emptyState(), vms: records, ...extra };
}

const hostPorts = (vms: readonly AppliedVm[]) => Object.fromEntries(vms.map((vm) => [vm.instance, vm.spec.forwards.map((f) => f.host.first)]));

function refusal(decide: () => unknown): CliError {
  try {
    decide();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error("not refused");
}

const refusedAddress = (name: string, why: string) => new CliError(EXIT.FAILURE, `refusing to forward to \`${name}\`: its address ${why}`, "");

describe("up NAME…", () => {
  it("forwards the named VM at its address and keeps the other applied VMs that still run", () => {
    const vms = { web: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.2" }, db: { yaml: limaYaml("expose postgres 5432 as 15432"), address: "192.168.105.3" } };
    const state = applied({ db: { yaml: limaYaml("expose postgres 5432 as 15432"), address: "192.168.105.3" } });
    expect(up(vms, state, ["web"]).vms.map((vm) => [vm.instance, vm.address])).toEqual([["db", "192.168.105.3"], ["web", "192.168.105.2"]]);
  });

  it("asks for the addresses of the VMs it places and no others: db is kept as recorded, not looked up again", () => {
    const vms = { web: { yaml: limaYaml("expose http 80 as 8080") }, db: { yaml: limaYaml("expose postgres 5432 as 15432") }, bare: { yaml: "networks:\n  - lima: shared\n" } };
    const state = applied({ db: { yaml: limaYaml("expose postgres 5432 as 15432"), address: "192.168.105.3" } });
    const reading = readingForUp(listingOf(vms), state, ["web", "bare"], (name) => `/lima/${name}/lima.yaml`);
    const decision = decideDesired(state, reading, factsFor(vms, reading.names), UP_POLICY);
    expect("needs" in decision && decision.needs.map((i) => i.name)).toEqual(["web"]);
  });

  it("drops an applied VM that stopped, saying so", () => {
    const vms = { web: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.2" }, db: { status: "Stopped" as const, yaml: limaYaml("expose postgres 5432 as 15432") } };
    const state = applied({ db: { yaml: limaYaml("expose postgres 5432 as 15432"), address: "192.168.105.3" } });
    const desired = up(vms, state, ["web"]);
    expect(desired.vms.map((vm) => vm.instance)).toEqual(["web"]);
    expect(desired.notes).toEqual(["db: no longer running, removing its stale forwards"]);
  });

  it("refuses an unknown or stopped instance by name", () => {
    const vms = { web: { status: "Stopped" as const, yaml: limaYaml("expose http 80 as 8080") } };
    expect(refusal(() => up(vms, emptyState(), ["nope"])).message).toMatch(/no Lima instance named `nope`/);
    const stopped = refusal(() => up(vms, emptyState(), ["web"]));
    expect([stopped.exitCode, stopped.message]).toEqual([1, "instance `web` is stopped"]);
  });

  it("a broken annotation costs its own VM only: skipped with every diagnostic, the others forwarded, an applied one keeps its rules", () => {
    const broken = limaYaml("expose http 80 as 70000", "expose ssh 22 as 99999");
    const vms = { web: { yaml: broken, address: "192.168.105.2" }, db: { yaml: limaYaml("expose postgres as 15432"), address: "192.168.105.3" } };
    const desired = running(vms, emptyState(), UP_POLICY);
    expect(desired.vms.map((vm) => vm.instance)).toEqual(["db"]);
    expect(desired.skipped.map((s) => [s.instance, s.reason, s.diagnostics.map((d) => [d.code, d.line])])).toEqual([["web", "annotation has errors", [["LW101", 4], ["LW101", 5]]]]);
    const state = applied({ web: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.2" } });
    const again = up(vms, state, ["web"]);
    expect(again.vms.map((vm) => [vm.instance, vm.spec.forwards[0]!.host.first])).toEqual([["web", 8080]]);
    expect(again.skipped[0]!.reason).toBe("annotation has errors; keeping its last valid rules");
  });

  it("refuses a running VM without a vmnet network (no lookup needed), or without an address", () => {
    const userNet = { web: { yaml: limaYaml("expose http 80 as 8080"), network: [{ lima: "user-v2" }] } };
    expect(refusal(() => up(userNet, emptyState(), ["web"])).message).toMatch(/no vmnet network/);
    const noLease = { web: { yaml: limaYaml("expose http 80 as 8080"), address: null } };
    const refused = refusal(() => up(noLease, emptyState(), ["web"]));
    expect([refused.message, refused.hint]).toEqual(["no address for `web` on its vmnet network", expect.stringContaining("/var/db/dhcpd_leases")]);
  });

  it("a failed lookup fails up for a VM it named, whatever the failure; up --all reports a failed command and forwards the others", () => {
    const failed = new CliError(EXIT.HOST_COMMAND, "`limactl shell web ip` printed too much");
    const vms = { web: { yaml: limaYaml("expose http 80 as 8080"), address: failed }, db: { yaml: limaYaml("expose http 80 as 8081"), address: "192.168.105.3" } };
    expect(refusal(() => up(vms, emptyState(), ["web"]))).toBe(failed);
    const all = running(vms, emptyState(), UP_POLICY);
    expect([all.vms.map((vm) => vm.instance), all.skipped.map((s) => [s.instance, s.reason])]).toEqual([["db"], [["web", failed.message]]]);
  });

  it("probes only the host ports newly claimed, at most 256 of a range, and refuses a busy one naming the forward", () => {
    const yaml = limaYaml("expose http 80 as 8080", "expose dns 53/udp as 5353", "expose games 2000-2999 as 12000-12999");
    const vms = up({ web: { yaml, address: "192.168.105.2" } }, emptyState(), ["web"]).vms;
    const claims = newlyClaimedPorts(vms, {});
    expect(claims.slice(0, 3)).toEqual([
      { vm: "web", forward: "http", protocol: "tcp", port: 8080 },
      { vm: "web", forward: "dns", protocol: "udp", port: 5353 },
      { vm: "web", forward: "games", protocol: "tcp", port: 12000 },
    ]);
    expect(claims).toHaveLength(2 + 256);
    expect(newlyClaimedPorts(vms, applied({ web: { yaml, address: "192.168.105.2" } }).vms)).toEqual([]);
    expect(busyPort(claims[1]!).message).toBe("host udp port 5353 (web/dns) is already used by a process on this Mac");
  });

  it("says when a named VM has no annotation, and forwards nothing for it", () => {
    const desired = up({ web: { yaml: "networks:\n  - lima: shared\n", address: "192.168.105.2" } }, emptyState(), ["web"]);
    expect([desired.vms, desired.notes]).toEqual([[], ["web: no x-limawan annotation, nothing to expose"]]);
  });
});

describe("every running VM (the watcher, up --all)", () => {
  it("reads applied VMs first: an edit cannot take a port another applied VM holds, and keeps its last valid rules", () => {
    const state = applied({ a: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.2" }, b: { yaml: limaYaml("expose ssh 22 as 2202"), address: "192.168.105.3" } });
    const desired = running({ a: { yaml: limaYaml("expose ssh 22 as 2202"), address: "192.168.105.2" }, b: { yaml: limaYaml("expose ssh 22 as 2202"), address: "192.168.105.3" } }, state);
    expect(hostPorts(desired.vms)).toEqual({ a: [2201], b: [2202] });
    expect(desired.skipped).toEqual([{ instance: "a", reason: "annotation has errors; keeping its last valid rules", diagnostics: [expect.objectContaining({ code: "LW501" })] }]);
  });

  it("a VM kept at its last valid rules still holds those ports against later edits", () => {
    const state = applied({ a: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.2" }, b: { yaml: limaYaml("expose ssh 22 as 2202"), address: "192.168.105.3" } });
    // a's file breaks; b's edit tries to take a's port 2201.
    const desired = running({ a: { yaml: limaYaml("expose ssh 22 as 70000"), address: "192.168.105.2" }, b: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.3" } }, state);
    expect(hostPorts(desired.vms)).toEqual({ a: [2201], b: [2202] });
    expect(desired.skipped.map((s) => [s.instance, s.reason])).toEqual([
      ["a", "annotation has errors; keeping its last valid rules"],
      ["b", "annotation has errors; keeping its last valid rules"],
    ]);
  });

  it("reads applied VMs before new ones, whatever their names", () => {
    const state = applied({ c: { yaml: limaYaml("expose ssh 22 as 2203"), address: "192.168.105.4" } });
    const desired = running({ a: { yaml: limaYaml("expose ssh 22 as 2203"), address: "192.168.105.2" }, c: { yaml: limaYaml("expose ssh 22 as 2203"), address: "192.168.105.4" } }, state);
    expect(desired.vms.map((vm) => vm.instance)).toEqual(["c"]);
    expect(desired.skipped).toEqual([{ instance: "a", reason: "annotation has errors", diagnostics: [expect.objectContaining({ code: "LW501" })] }]);
  });

  it("drops last valid rules that clash with a VM accepted before them (a record where two VMs claim one port)", () => {
    const state = applied({ a: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.2" }, c: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.4" } });
    const desired = running({ a: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.2" }, c: { yaml: limaYaml("expose ssh 22 as 70000"), address: "192.168.105.4" } }, state);
    expect(hostPorts(desired.vms)).toEqual({ a: [2201] });
    expect(desired.skipped.map((s) => [s.instance, s.reason])).toEqual([
      ["a", "annotation has errors; keeping its last valid rules"], // c's record holds 2201 against a's file
      ["c", "annotation has errors, and its last valid rules clash with another VM's now; not forwarded"],
    ]);
  });

  it("a VM that cannot be forwarded holds no ports: no vmnet network, or no address yet", () => {
    const desired = running({ alpha: { yaml: limaYaml("expose http 80 as 8080"), network: [{ lima: "user-v2" }] }, beta: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.3" } }, emptyState());
    expect(desired.vms.map((vm) => vm.instance)).toEqual(["beta"]);
    expect(desired.skipped.map((s) => [s.instance, s.reason])).toEqual([["alpha", expect.stringMatching(/^has no vmnet network, so PF cannot reach it; Add `networks/)]]);
    expect(desired.waiting).toEqual([]); // nothing to wait for: it needs a restart with another network
    const later = running({ alpha: { yaml: limaYaml("expose http 80 as 8080"), address: null }, beta: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.3" } }, emptyState());
    expect([later.vms.map((vm) => vm.instance), later.waiting]).toEqual([["beta"], ["alpha"]]);
  });

  it("a VM dropped for want of an address frees its ports, and the VM they go to is then asked for its address", () => {
    const vms = { alpha: { yaml: limaYaml("expose http 80 as 8080"), address: null }, beta: { yaml: limaYaml("expose http 80 as 8080") } };
    const reading = readingForRunning(listingOf(vms), emptyState(), WATCH_POLICY);
    const first = decideDesired(emptyState(), reading, factsFor(vms, reading.names, []), WATCH_POLICY);
    expect("needs" in first && first.needs.map((i) => i.name)).toEqual(["alpha"]); // beta clashes with alpha: not placed, not asked
    const second = decideDesired(emptyState(), reading, factsFor(vms, reading.names), WATCH_POLICY);
    expect("needs" in second && second.needs.map((i) => i.name)).toEqual(["beta"]);
  });

  it("a VM whose PF names would collide with an applied VM's after shortening is skipped (LW701); the applied one stays", () => {
    // As in the LW701 compiler test: VM `alpha_<9 chars>` with a forward named after the hash in
    // alpha's shortened ban-table name writes that very table name.
    const { name, hash, twin } = banTableTwin();
    const alpha = limaYaml(`expose ${name} 22 as 2222 limit 5/30s`);
    const state = applied({ alpha: { yaml: alpha, address: "192.168.105.2" } });
    const desired = running({ alpha: { yaml: alpha, address: "192.168.105.2" }, [twin]: { yaml: limaYaml(`expose ${hash} 22 as 2223 limit 5/30s`), address: "192.168.105.3" } }, state);
    expect(desired.vms.map((vm) => vm.instance)).toEqual(["alpha"]);
    expect(desired.skipped).toEqual([{ instance: twin, reason: "annotation has errors", diagnostics: [expect.objectContaining({ code: "LW701" })] }]);
  });

  it("skips VMs `down` holds, naming how to release them", () => {
    const desired = running({ web: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.2" } }, { ...emptyState(), heldDown: ["web"] });
    expect(desired.vms).toEqual([]);
    expect(desired.skipped[0]!.reason).toMatch(/held down by `limactl limawan down`; `limactl limawan up web` forwards it again/);
  });

  it("waits for a VM without an address, keeps an applied VM's last address while the lookup fails, and reports a refused one", () => {
    const yaml = limaYaml("expose http 80 as 8080");
    const state = applied({ old: { yaml, address: "192.168.105.7" } });
    const evil = refusedAddress("evil", "127.0.0.1 is a loopback address");
    const desired = running({ fresh: { yaml: limaYaml("expose http 80 as 8081"), address: null }, old: { yaml, address: null }, evil: { yaml: limaYaml("expose http 80 as 8082"), address: evil } }, state);
    expect(desired.vms.map((vm) => [vm.instance, vm.address])).toEqual([["old", "192.168.105.7"]]);
    expect(desired.waiting).toEqual(["fresh"]); // a refused address is reported, not polled for every second
    expect(desired.skipped).toEqual([{ instance: "evil", reason: evil.message, diagnostics: [] }]);
  });

  it("does not read stopped VMs, and reports a VM whose lima.yaml cannot be read without failing the others", () => {
    const vms = { gone: { yaml: null, address: "192.168.105.5" }, off: { status: "Stopped" as const, yaml: limaYaml("expose http 80 as 8080") }, web: { yaml: limaYaml("expose http 80 as 8081"), address: "192.168.105.2" } };
    expect(readingForRunning(listingOf(vms), emptyState(), WATCH_POLICY).names).toEqual(["gone", "web"]);
    const desired = running(vms, emptyState());
    expect(desired.vms.map((vm) => vm.instance)).toEqual(["web"]);
    expect(desired.read.map((r) => r.instance.name)).toEqual(["web"]);
    expect(desired.skipped).toEqual([{ instance: "gone", reason: "cannot read /lima/gone/lima.yaml: ENOENT", diagnostics: [] }]);
  });
});

describe("status and down", () => {
  it("status reads every VM, stopped ones too, with each running VM's address and each file's standalone spec", () => {
    const desired = status({ off: { status: "Stopped", yaml: limaYaml("expose http 80 as 8080") }, bad: { yaml: limaYaml("expose http 80 as 70000"), address: "192.168.105.3" } }, emptyState());
    expect(desired.read.map((r) => [r.instance.name, r.address, r.result.standalone !== null])).toEqual([["bad", "192.168.105.3", false], ["off", null, true]]);
    expect(desired.vms).toEqual([]);
  });

  it("status marks conflicts with the rules loaded for other VMs: not with a stopped VM never forwarded, and with an applied VM's loaded port even after its file moved", () => {
    const state = applied({ a: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.2" } });
    const desired = status(
      {
        a: { yaml: limaYaml("expose http 80 as 9090"), address: "192.168.105.2" },
        b: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.3" },
        off: { status: "Stopped", yaml: limaYaml("expose web 80 as 7070") },
        c: { yaml: limaYaml("expose web 80 as 7070"), address: "192.168.105.4" },
      },
      state,
    );
    const codes = Object.fromEntries(desired.read.map((r) => [r.instance.name, r.result.diagnostics.map((d) => d.code)]));
    expect(codes).toEqual({ a: [], b: ["LW501"], c: [], off: [] });
  });

  it("status reads only the instances asked for; a name Lima does not list is an error, as for up, unless a deleted VM is still applied", () => {
    const vms = { a: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.2" }, b: { yaml: limaYaml("expose http 80 as 8081"), address: "192.168.105.3" } };
    expect(readingForStatus(listingOf(vms), emptyState(), ["b"])).toEqual(["b"]);
    const refused = refusal(() => readingForStatus(listingOf(vms), emptyState(), ["a", "nope"]));
    expect([refused.exitCode, refused.message]).toEqual([1, refusal(() => up(vms, emptyState(), ["nope"])).message]);
    const state = applied({ gone: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.9" } });
    expect(readingForStatus(listingOf(vms), state, ["gone"])).toEqual([]);
  });

  it("down keeps the applied VMs it does not name, holds those it names, and reads nothing", () => {
    const state = applied({ a: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.2" }, b: { yaml: limaYaml("expose ssh 22 as 2202"), address: "192.168.105.3" } });
    const one = desiredWithout(state, ["a", "zzz"]);
    expect([one.vms.map((vm) => vm.instance), one.heldDown, one.notes]).toEqual([["b"], ["a", "zzz"], ["zzz: no forwards applied"]]);
    const all = desiredWithout({ ...state, heldDown: ["x"] }, "all");
    expect([all.vms, all.heldDown]).toEqual([[], ["a", "b", "x"]]);
  });

  it("up releases what it names, up --all releases every hold, the watcher keeps them", () => {
    const listing = listingOf({ a: {}, b: {} });
    const held = { ...emptyState(), heldDown: ["a", "b"] };
    const holds = (reading: Reading) => reading.heldDown;
    expect(holds(readingForUp(listing, held, ["a"], (n) => n))).toEqual(["b"]);
    expect(holds(readingForRunning(listing, held, UP_POLICY))).toEqual([]);
    expect(holds(readingForRunning(listing, held, WATCH_POLICY))).toEqual(["a", "b"]);
  });
});
