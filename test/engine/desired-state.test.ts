import { describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { banTableTwin } from "../ban-table-twin.js";
import { compileFile } from "../../compiler/pipeline.js";
import { desiredState, UP_POLICY, WATCH_POLICY } from "../../plugin/engine/desired-state.js";
import { emptyState, type AppliedVm, type State } from "../../plugin/engine/state.js";
import { CliError } from "../../plugin/errors.js";
import { fakeHost, limaYaml } from "./fake-host.js";

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

async function refusal(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
}

describe("desiredState for `up NAME…`", () => {
  it("forwards the named VM at its address and keeps the other applied VMs that still run", async () => {
    const host = fakeHost({
      web: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.2" },
      db: { yaml: limaYaml("expose postgres 5432 as 15432"), address: "192.168.105.3" },
    });
    const state = applied({ db: { yaml: limaYaml("expose postgres 5432 as 15432"), address: "192.168.105.3" } });
    const desired = await desiredState(host, state, { read: "named", names: ["web"] }, UP_POLICY);
    expect(desired.vms.map((vm) => [vm.instance, vm.address])).toEqual([["db", "192.168.105.3"], ["web", "192.168.105.2"]]);
    expect(host.lookups).toEqual(["web"]); // db is kept as recorded, not looked up again
  });

  it("drops an applied VM that stopped, saying so", async () => {
    const host = fakeHost({ web: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.2" }, db: { status: "Stopped", yaml: limaYaml("expose postgres 5432 as 15432") } });
    const state = applied({ db: { yaml: limaYaml("expose postgres 5432 as 15432"), address: "192.168.105.3" } });
    const desired = await desiredState(host, state, { read: "named", names: ["web"] }, UP_POLICY);
    expect(desired.vms.map((vm) => vm.instance)).toEqual(["web"]);
    expect(desired.notes).toEqual(["db: no longer running, removing its stale forwards"]);
  });

  it("refuses an unknown or stopped instance by name", async () => {
    const host = fakeHost({ web: { status: "Stopped", yaml: limaYaml("expose http 80 as 8080") } });
    expect((await refusal(desiredState(host, emptyState(), { read: "named", names: ["nope"] }, UP_POLICY))).message).toMatch(/no Lima instance named `nope`/);
    const stopped = await refusal(desiredState(host, emptyState(), { read: "named", names: ["web"] }, UP_POLICY));
    expect([stopped.exitCode, stopped.message]).toEqual([1, "instance `web` is stopped"]);
  });

  it("a broken annotation costs its own VM only: skipped with every diagnostic, the others forwarded, an applied one keeps its rules", async () => {
    const broken = limaYaml("expose http 80 as 70000", "expose ssh 22 as 99999");
    const host = fakeHost({ web: { yaml: broken, address: "192.168.105.2" }, db: { yaml: limaYaml("expose postgres as 15432"), address: "192.168.105.3" } });
    const desired = await desiredState(host, emptyState(), { read: "running" }, UP_POLICY);
    expect(desired.vms.map((vm) => vm.instance)).toEqual(["db"]);
    expect(desired.skipped.map((s) => [s.instance, s.reason, s.diagnostics.map((d) => [d.code, d.line])])).toEqual([["web", "annotation has errors", [["LW101", 4], ["LW101", 5]]]]);
    const state = applied({ web: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.2" } });
    const again = await desiredState(host, state, { read: "named", names: ["web"] }, UP_POLICY);
    expect(again.vms.map((vm) => [vm.instance, vm.spec.forwards[0]!.host.first])).toEqual([["web", 8080]]);
    expect(again.skipped[0]!.reason).toBe("annotation has errors; keeping its last valid rules");
  });

  it("uses addresses already found (up --wait) instead of looking them up again", async () => {
    const host = fakeHost({ web: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.9" } });
    const desired = await desiredState(host, emptyState(), { read: "named", names: ["web"] }, UP_POLICY, { knownAddresses: new Map([["web", "192.168.105.2" as Ipv4Address]]) });
    expect(desired.vms[0]!.address).toBe("192.168.105.2");
    expect(host.lookups).toEqual([]);
  });

  it("refuses a VM that stopped while up --wait waited for it", async () => {
    const host = fakeHost({ web: { status: "Stopped", yaml: limaYaml("expose http 80 as 8080") } });
    const known = { knownAddresses: new Map([["web", "192.168.105.2" as Ipv4Address]]) };
    expect((await refusal(desiredState(host, emptyState(), { read: "named", names: ["web"] }, UP_POLICY, known))).message).toBe("instance `web` is stopped");
  });

  it("refuses a running VM without a vmnet network, or without an address", async () => {
    const userNet = fakeHost({ web: { yaml: limaYaml("expose http 80 as 8080"), network: [{ lima: "user-v2" }] } });
    expect((await refusal(desiredState(userNet, emptyState(), { read: "named", names: ["web"] }, UP_POLICY))).message).toMatch(/no vmnet network/);
    const noLease = fakeHost({ web: { yaml: limaYaml("expose http 80 as 8080"), address: null } });
    expect((await refusal(desiredState(noLease, emptyState(), { read: "named", names: ["web"] }, UP_POLICY))).message).toMatch(/no address for `web`/);
  });

  it("refuses a newly claimed host port a local process listens on, and does not probe ports it already holds", async () => {
    const yaml = limaYaml("expose http 80 as 8080", "expose dns 53/udp as 5353");
    const busy = fakeHost({ web: { yaml, address: "192.168.105.2" } }, ["udp/5353"]);
    expect((await refusal(desiredState(busy, emptyState(), { read: "named", names: ["web"] }, UP_POLICY))).message).toMatch(/host udp port 5353 \(web\/dns\) is already used/);
    const again = fakeHost({ web: { yaml, address: "192.168.105.2" } }, ["udp/5353", "tcp/8080"]);
    await desiredState(again, applied({ web: { yaml, address: "192.168.105.2" } }), { read: "named", names: ["web"] }, UP_POLICY);
    expect(again.probes).toEqual([]);
  });

  it("says when a named VM has no annotation, and forwards nothing for it", async () => {
    const host = fakeHost({ web: { yaml: "networks:\n  - lima: shared\n", address: "192.168.105.2" } });
    const desired = await desiredState(host, emptyState(), { read: "named", names: ["web"] }, UP_POLICY);
    expect([desired.vms, desired.notes]).toEqual([[], ["web: no x-limawan annotation, nothing to expose"]]);
  });
});

describe("desiredState for the watcher (every running VM)", () => {
  it("reads applied VMs first: an edit cannot take a port another applied VM holds, and keeps its last valid rules", async () => {
    const state = applied({ a: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.2" }, b: { yaml: limaYaml("expose ssh 22 as 2202"), address: "192.168.105.3" } });
    const host = fakeHost({ a: { yaml: limaYaml("expose ssh 22 as 2202"), address: "192.168.105.2" }, b: { yaml: limaYaml("expose ssh 22 as 2202"), address: "192.168.105.3" } });
    const desired = await desiredState(host, state, { read: "running" }, WATCH_POLICY);
    expect(hostPorts(desired.vms)).toEqual({ a: [2201], b: [2202] });
    expect(desired.skipped).toEqual([{ instance: "a", reason: "annotation has errors; keeping its last valid rules", diagnostics: [expect.objectContaining({ code: "LW501" })] }]);
  });

  it("a VM kept at its last valid rules still holds those ports against later edits", async () => {
    const state = applied({ a: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.2" }, b: { yaml: limaYaml("expose ssh 22 as 2202"), address: "192.168.105.3" } });
    // a's file breaks; b's edit tries to take a's port 2201.
    const host = fakeHost({ a: { yaml: limaYaml("expose ssh 22 as 70000"), address: "192.168.105.2" }, b: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.3" } });
    const desired = await desiredState(host, state, { read: "running" }, WATCH_POLICY);
    expect(hostPorts(desired.vms)).toEqual({ a: [2201], b: [2202] });
    expect(desired.skipped.map((s) => [s.instance, s.reason])).toEqual([
      ["a", "annotation has errors; keeping its last valid rules"],
      ["b", "annotation has errors; keeping its last valid rules"],
    ]);
  });

  it("reads applied VMs before new ones, whatever their names", async () => {
    const state = applied({ c: { yaml: limaYaml("expose ssh 22 as 2203"), address: "192.168.105.4" } });
    const host = fakeHost({ a: { yaml: limaYaml("expose ssh 22 as 2203"), address: "192.168.105.2" }, c: { yaml: limaYaml("expose ssh 22 as 2203"), address: "192.168.105.4" } });
    const desired = await desiredState(host, state, { read: "running" }, WATCH_POLICY);
    expect(desired.vms.map((vm) => vm.instance)).toEqual(["c"]);
    expect(desired.skipped).toEqual([{ instance: "a", reason: "annotation has errors", diagnostics: [expect.objectContaining({ code: "LW501" })] }]);
  });

  it("drops last valid rules that clash with a VM accepted before them (a record where two VMs claim one port)", async () => {
    const state = applied({ a: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.2" }, c: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.4" } });
    const host = fakeHost({ a: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.2" }, c: { yaml: limaYaml("expose ssh 22 as 70000"), address: "192.168.105.4" } });
    const desired = await desiredState(host, state, { read: "running" }, WATCH_POLICY);
    expect(hostPorts(desired.vms)).toEqual({ a: [2201] });
    expect(desired.skipped.map((s) => [s.instance, s.reason])).toEqual([
      ["a", "annotation has errors; keeping its last valid rules"], // c's record holds 2201 against a's file
      ["c", "annotation has errors, and its last valid rules clash with another VM's now; not forwarded"],
    ]);
  });

  it("a VM that cannot be forwarded holds no ports: no vmnet network, or no address yet", async () => {
    const host = fakeHost({
      alpha: { yaml: limaYaml("expose http 80 as 8080"), network: [{ lima: "user-v2" }] },
      beta: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.3" },
    });
    const desired = await desiredState(host, emptyState(), { read: "running" }, WATCH_POLICY);
    expect(desired.vms.map((vm) => vm.instance)).toEqual(["beta"]);
    expect(desired.skipped.map((s) => [s.instance, s.reason])).toEqual([["alpha", expect.stringMatching(/^has no vmnet network, so PF cannot reach it; Add `networks/)]]);
    expect(desired.waiting).toEqual([]); // nothing to wait for: it needs a restart with another network
    const leaseLater = fakeHost({ alpha: { yaml: limaYaml("expose http 80 as 8080"), address: null }, beta: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.3" } });
    const later = await desiredState(leaseLater, emptyState(), { read: "running" }, WATCH_POLICY);
    expect([later.vms.map((vm) => vm.instance), later.waiting]).toEqual([["beta"], ["alpha"]]);
  });

  it("a VM whose PF names would collide with an applied VM's after shortening is skipped (LW701); the applied one stays", async () => {
    // As in the LW701 compiler test: VM `alpha_<9 chars>` with a forward named after the hash in
    // alpha's shortened ban-table name writes that very table name.
    const { name, hash, twin } = banTableTwin();
    const alpha = limaYaml(`expose ${name} 22 as 2222 limit 5/30s`);
    const state = applied({ alpha: { yaml: alpha, address: "192.168.105.2" } });
    const host = fakeHost({ alpha: { yaml: alpha, address: "192.168.105.2" }, [twin]: { yaml: limaYaml(`expose ${hash} 22 as 2223 limit 5/30s`), address: "192.168.105.3" } });
    const desired = await desiredState(host, state, { read: "running" }, WATCH_POLICY);
    expect(desired.vms.map((vm) => vm.instance)).toEqual(["alpha"]);
    expect(desired.skipped).toEqual([{ instance: twin, reason: "annotation has errors", diagnostics: [expect.objectContaining({ code: "LW701" })] }]);
  });

  it("skips VMs `down` holds, naming how to release them", async () => {
    const host = fakeHost({ web: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.2" } });
    const desired = await desiredState(host, { ...emptyState(), heldDown: ["web"] }, { read: "running" }, WATCH_POLICY);
    expect(desired.vms).toEqual([]);
    expect(desired.skipped[0]!.reason).toMatch(/held down by `limactl limawan down`; `limactl limawan up web` forwards it again/);
  });

  it("waits for a VM without an address, keeps an applied VM's last address while the lookup fails, and reports a refused one", async () => {
    const yaml = limaYaml("expose http 80 as 8080");
    const state = applied({ old: { yaml, address: "192.168.105.7" } });
    const host = fakeHost({ fresh: { yaml: limaYaml("expose http 80 as 8081"), address: null }, old: { yaml, address: null }, evil: { yaml: limaYaml("expose http 80 as 8082"), address: "127.0.0.1" } });
    const desired = await desiredState(host, state, { read: "running" }, WATCH_POLICY);
    expect(desired.vms.map((vm) => [vm.instance, vm.address])).toEqual([["old", "192.168.105.7"]]);
    expect(desired.waiting).toEqual(["fresh"]); // a refused address is reported, not polled for every second
    expect(desired.skipped).toEqual([{ instance: "evil", reason: "refusing to forward to `evil`: its address 127.0.0.1 is a loopback address", diagnostics: [] }]);
  });

  it("does not read stopped VMs, and reports a VM whose lima.yaml cannot be read without failing the others", async () => {
    const host = fakeHost({ gone: { yaml: null, address: "192.168.105.5" }, off: { status: "Stopped", yaml: limaYaml("expose http 80 as 8080") }, web: { yaml: limaYaml("expose http 80 as 8081"), address: "192.168.105.2" } });
    const desired = await desiredState(host, emptyState(), { read: "running" }, WATCH_POLICY);
    expect(desired.vms.map((vm) => vm.instance)).toEqual(["web"]);
    expect(desired.read.map((r) => r.instance.name)).toEqual(["web"]);
    expect(desired.skipped).toEqual([{ instance: "gone", reason: "cannot read /lima/gone/lima.yaml: ENOENT", diagnostics: [] }]);
  });
});

describe("desiredState for status and down", () => {
  it("status reads every VM, stopped ones too, with each running VM's address and each file's standalone spec", async () => {
    const host = fakeHost({ off: { status: "Stopped", yaml: limaYaml("expose http 80 as 8080") }, bad: { yaml: limaYaml("expose http 80 as 70000"), address: "192.168.105.3" } });
    const desired = await desiredState(host, emptyState(), { read: "every" });
    expect(desired.read.map((r) => [r.instance.name, r.address, r.result.standalone !== null])).toEqual([["bad", "192.168.105.3", false], ["off", null, true]]);
    expect(desired.vms).toEqual([]);
  });

  it("status marks conflicts with the rules loaded for other VMs: not with a stopped VM never forwarded, and with an applied VM's loaded port even after its file moved", async () => {
    const state = applied({ a: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.2" } });
    const host = fakeHost({
      a: { yaml: limaYaml("expose http 80 as 9090"), address: "192.168.105.2" },
      b: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.3" },
      off: { status: "Stopped", yaml: limaYaml("expose web 80 as 7070") },
      c: { yaml: limaYaml("expose web 80 as 7070"), address: "192.168.105.4" },
    });
    const desired = await desiredState(host, state, { read: "every" });
    const codes = Object.fromEntries(desired.read.map((r) => [r.instance.name, r.result.diagnostics.map((d) => d.code)]));
    expect(codes).toEqual({ a: [], b: ["LW501"], c: [], off: [] });
  });

  it("status reads only the instances asked for", async () => {
    const host = fakeHost({ a: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.2" }, b: { yaml: limaYaml("expose http 80 as 8081"), address: "192.168.105.3" } });
    const desired = await desiredState(host, emptyState(), { read: "every", names: ["b"] });
    expect(desired.read.map((r) => r.instance.name)).toEqual(["b"]);
    expect(host.lookups).toEqual(["b"]);
  });

  it("status of a name Lima does not list is an error, as for up; of a deleted VM still applied, not", async () => {
    const host = fakeHost({ a: { yaml: limaYaml("expose http 80 as 8080"), address: "192.168.105.2" } });
    const refused = await refusal(desiredState(host, emptyState(), { read: "every", names: ["a", "nope"] }));
    expect(refused.message).toBe((await refusal(desiredState(host, emptyState(), { read: "named", names: ["nope"] }, UP_POLICY))).message);
    expect(refused.exitCode).toBe(1);
    const state = applied({ gone: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.9" } });
    expect((await desiredState(host, state, { read: "every", names: ["gone"] })).read).toEqual([]);
  });

  it("down keeps the applied VMs it does not name, holds those it names, and reads nothing", async () => {
    const state = applied({ a: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.2" }, b: { yaml: limaYaml("expose ssh 22 as 2202"), address: "192.168.105.3" } });
    const host = fakeHost({});
    const one = await desiredState(host, state, { read: "none", drop: ["a", "zzz"] });
    expect([one.vms.map((vm) => vm.instance), one.heldDown, one.notes]).toEqual([["b"], ["a", "zzz"], ["zzz: no forwards applied"]]);
    const all = await desiredState(host, { ...state, heldDown: ["x"] }, { read: "none", drop: "all" });
    expect([all.vms, all.heldDown]).toEqual([[], ["a", "b", "x"]]);
  });

  it("up releases what it names, up --all releases every hold, the watcher keeps them", async () => {
    const host = fakeHost({ a: { yaml: limaYaml("expose ssh 22 as 2201"), address: "192.168.105.2" }, b: { yaml: limaYaml("expose ssh 22 as 2202"), address: "192.168.105.3" } });
    const held = { ...emptyState(), heldDown: ["a", "b"] };
    expect((await desiredState(host, held, { read: "named", names: ["a"] }, UP_POLICY)).heldDown).toEqual(["b"]);
    expect((await desiredState(host, held, { read: "running" }, UP_POLICY)).heldDown).toEqual([]);
    expect((await desiredState(host, held, { read: "running" }, WATCH_POLICY)).heldDown).toEqual(["a", "b"]);
  });
});
