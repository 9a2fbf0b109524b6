import { describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { compileFile } from "../../compiler/pipeline.js";
import type { AppliedVm } from "../../plugin/engine/state.js";
import { instanceStatus, missingPointsReason, type InstanceInput } from "../../plugin/engine/status-report.js";
import { limaYaml } from "./fake-host.js";

const FILE = "/lima/web/lima.yaml";
const specOf = (...statements: string[]) => compileFile({ vm: "web", file: FILE, text: limaYaml(...statements) }).spec!;
const input = (over: Partial<InstanceInput> = {}): InstanceInput => ({
  instance: "web",
  status: "Running",
  address: "192.168.105.2",
  annotated: true,
  spec: specOf("expose ssh 22 as 2222", "expose http 80 as 8080"),
  diagnostics: [],
  conflicts: new Map(),
  ...over,
});
const appliedAs = (address: string, ...statements: string[]): AppliedVm => ({ instance: "web", file: FILE, address: address as Ipv4Address, spec: specOf(...statements) });
const states = (s: ReturnType<typeof instanceStatus>) => s.forwards.map((f) => [f.name, f.state, f.reason ?? ""]);
const COUNTERS = new Map([["limawan:web:ssh", { evaluations: 9, packets: 42, bytes: 4200, states: 3 }]]);

describe("status per forward", () => {
  it("applied: loaded as the annotation says, with PF's counters by the label it was loaded with", () => {
    const s = instanceStatus(input(), appliedAs("192.168.105.2", "expose ssh 22 as 2222", "expose http 80 as 8080"), COUNTERS, ["en0"]);
    expect(states(s)).toEqual([["ssh", "applied", ""], ["http", "applied", ""]]);
    expect(s.forwards[0]).toMatchObject({ host: "2222", interfaces: ["en0"], target: "192.168.105.2:22", packets: 42, bytes: 4200, states: 3 });
    expect(s.forwards[1]).toMatchObject({ packets: null, states: null });
  });

  it("pending on a running VM not forwarded yet; inactive on a stopped one; no counters for either", () => {
    expect(states(instanceStatus(input(), undefined, COUNTERS, ["en0"]))).toEqual([["ssh", "pending", ""], ["http", "pending", ""]]);
    const stopped = instanceStatus(input({ status: "Stopped", address: null }), undefined, COUNTERS, ["en0"]);
    expect(states(stopped)).toEqual([["ssh", "inactive", "VM is not running"], ["http", "inactive", "VM is not running"]]);
    expect(stopped.forwards.every((f) => f.packets === null)).toBe(true);
  });

  it("stale: VM stopped, address moved, annotation changed, statement removed", () => {
    const was = appliedAs("192.168.105.2", "expose ssh 22 as 2222", "expose http 80 as 8080", "expose dns 53/udp as 5353");
    expect(states(instanceStatus(input({ status: "Stopped" }), was, null, []))).toEqual([
      ["ssh", "stale", "VM is not running"],
      ["http", "stale", "VM is not running"],
      ["dns", "stale", "no longer in the annotation"],
    ]);
    expect(states(instanceStatus(input({ address: "192.168.105.9" }), was, null, [])).slice(0, 1)).toEqual([["ssh", "stale", "VM address is now 192.168.105.9"]]);
    const edited = input({ spec: specOf("expose ssh 22 as 2223", "expose http 80 as 8080") });
    expect(states(instanceStatus(edited, appliedAs("192.168.105.2", "expose ssh 22 as 2222", "expose http 80 as 8080"), null, []))).toEqual([
      ["ssh", "stale", "annotation changed since up"],
      ["http", "applied", ""],
    ]);
  });

  it("conflicting: a forward whose host port another VM holds, with that diagnostic's message", () => {
    const s = instanceStatus(input({ conflicts: new Map([[5, "host tcp port 8080 is already claimed by VM `db`"]]) }), undefined, null, ["en0"]);
    expect(states(s)).toEqual([["ssh", "pending", ""], ["http", "conflicting", "host tcp port 8080 is already claimed by VM `db`"]]);
  });

  it("an annotation with errors of its own is marked invalid and lists no forwards of its own", () => {
    const s = instanceStatus(input({ spec: null }), undefined, null, []);
    expect([s.valid, s.forwards]).toEqual([false, []]);
    expect(instanceStatus(input({ spec: null, annotated: false }), undefined, null, []).valid).toBe(true);
  });
});

describe("why the anchor points are missing", () => {
  const NOW = Date.parse("2026-11-29T22:00:00Z");
  it("says which happened: a fight the watcher paused, pf.conf rewritten, or another tool's ruleset", () => {
    expect(missingPointsReason({ points: { restores: [], pausedUntil: NOW + 60_000 } }, true, NOW)).toMatch(/^another tool keeps removing them, so the watcher stopped putting them back until 2026-11-29T22:01:00.000Z/);
    expect(missingPointsReason({ points: { restores: [], pausedUntil: NOW - 1 } }, false, NOW)).toMatch(/^missing from pf\.conf too \(a macOS update/);
    expect(missingPointsReason(null, true, NOW)).toMatch(/^another tool loaded its own main ruleset/);
  });
});
