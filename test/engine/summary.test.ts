import { describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { compileFile } from "../../compiler/pipeline.js";
import { emptyState, type AppliedVm, type State } from "../../plugin/engine/state.js";
import { changeLine, describeResult, vmChanges } from "../../plugin/engine/summary.js";
import { limaYaml } from "./fake-host.js";

function vm(name: string, address: string, ...statements: string[]): AppliedVm {
  const spec = compileFile({ vm: name, file: `/lima/${name}/lima.yaml`, text: limaYaml(...statements) }).spec!;
  return { instance: name, file: spec.file, address: address as Ipv4Address, spec };
}
const stateOf = (...vms: AppliedVm[]): State => ({ ...emptyState(), vms: Object.fromEntries(vms.map((v) => [v.instance, v])) });

const web = vm("web", "192.168.105.2", "expose http 80 as 8080");
const db = vm("db", "192.168.105.3", "expose postgres 5432 as 15432");
const moved = vm("web", "192.168.105.9", "expose http 80 as 8080");

describe("before/after", () => {
  it("sorts VMs into added, changed (address or annotation), unchanged and removed", () => {
    const changes = vmChanges(stateOf(web, db), stateOf(moved, vm("api", "192.168.105.4", "expose api 9000 as 19000")));
    expect({ ...changes, added: changes.added.map((v) => v.instance), changed: changes.changed.map((v) => v.instance), unchanged: changes.unchanged.map((v) => v.instance) }).toEqual({
      added: ["api"],
      changed: ["web"],
      unchanged: [],
      removed: ["db"],
    });
  });

  it("says what up did per VM, what a dry run would do, and nothing to change when nothing changed", () => {
    const result = describeResult({ before: stateOf(db), after: stateOf(db, web), actions: [{ kind: "enable-pf" }] }, false);
    expect(result.lines).toEqual(["db (192.168.105.3): up to date", "web (192.168.105.2): forward", "  http 8080 -> 192.168.105.2:80/tcp"]);
    expect(result).toMatchObject({ changed: true, actions: ["enable-pf"], removed: [] });
    const dry = describeResult({ before: stateOf(db), after: stateOf(), actions: [{ kind: "flush-anchor" }] }, true);
    expect(dry.lines).toEqual(["db: would remove forwards", "dry run: nothing changed (empty the limawan anchor)"]);
    expect(dry.changed).toBe(false);
    expect(describeResult({ before: stateOf(web), after: stateOf(web), actions: [] }, false).lines).toEqual(["web (192.168.105.2): up to date", "nothing to change"]);
  });

  it("gives the watcher one line: +added ~changed -removed", () => {
    expect(changeLine(stateOf(web, db), stateOf(moved, vm("api", "192.168.105.4", "expose api 9000 as 19000")))).toBe(
      "+api (192.168.105.4, 1 forward(s)) ~web (192.168.105.9, 1 forward(s)) -db",
    );
    expect(changeLine(stateOf(web), stateOf(web))).toBe("");
  });
});
