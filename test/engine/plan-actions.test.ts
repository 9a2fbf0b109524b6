import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { AnchorText } from "../../compiler/emit-pf.js";
import { observedAfter, planActions, type Action, type WantedAnchor, type Installed, type Observed } from "../../plugin/engine/plan-actions.js";

const desiredOf = (labels: string[], tables: string[] = []): WantedAnchor => ({
  text: labels.join("\n") as AnchorText,
  hash: `h:${labels.join(",")}`,
  labels: new Set(labels),
  tables,
});
const nothing = desiredOf([]);
const freshHost: Observed = { anchorPoints: { rdr: true, filter: true }, tokenHeld: false, forwarding: "0", labels: new Set() };
const empty: Installed = { anchorHash: null, tables: [] };

/** What the host looks like after the actions ran: the model the planner must agree with. */
function afterApplying(actions: Action[], desired: WantedAnchor, installed: Installed, observed: Observed): { installed: Installed; observed: Observed } {
  let o = { ...observed };
  let i = { ...installed };
  for (const a of actions) {
    if (a.kind === "install-anchor-points") o = { ...o, anchorPoints: { rdr: true, filter: true } };
    if (a.kind === "enable-ip-forwarding") o = { ...o, forwarding: "1" };
    if (a.kind === "enable-pf") o = { ...o, tokenHeld: true };
    if (a.kind === "release-pf") o = { ...o, tokenHeld: false };
    if (a.kind === "load-anchor") {
      o = { ...o, labels: new Set(desired.labels) };
      i = { anchorHash: a.hash, tables: [...desired.tables] };
    }
    // The state written after applying no longer lists the removed tables (plugin/engine/converge.ts).
    if (a.kind === "remove-tables") i = { ...i, tables: i.tables.filter((t) => !a.tables.includes(t)) };
    if (a.kind === "flush-anchor") {
      o = { ...o, labels: new Set() };
      i = { anchorHash: null, tables: [] };
    }
  }
  return { installed: i, observed: o };
}

describe("plan", () => {
  it("brings a fresh host up in order: forwarding, PF reference, then the anchor", () => {
    expect(planActions(desiredOf(["limawan:web:ssh"]), empty, freshHost).map((a) => a.kind)).toEqual(["enable-ip-forwarding", "enable-pf", "load-anchor"]);
  });

  it("restores missing anchor points before anything else", () => {
    const observed = { ...freshHost, anchorPoints: { rdr: false, filter: true } };
    expect(planActions(desiredOf(["l"]), empty, observed)[0]).toEqual({ kind: "install-anchor-points" });
  });

  it("does nothing when the loaded anchor already matches", () => {
    const desired = desiredOf(["l"]);
    const observed: Observed = { ...freshHost, forwarding: "1", tokenHeld: true, labels: new Set(["l"]) };
    expect(planActions(desired, { anchorHash: desired.hash, tables: [] }, observed)).toEqual([]);
  });

  it("reloads when someone changed the anchor by hand (labels differ) even if the hash matches", () => {
    const desired = desiredOf(["l"]);
    const observed: Observed = { ...freshHost, forwarding: "1", tokenHeld: true, labels: new Set(["l", "intruder"]) };
    expect(planActions(desired, { anchorHash: desired.hash, tables: [] }, observed).map((a) => a.kind)).toEqual(["load-anchor"]);
  });

  it("empties the anchor and releases PF when nothing is wanted, leaving forwarding alone", () => {
    const observed: Observed = { ...freshHost, forwarding: "1", tokenHeld: true, labels: new Set(["l"]) };
    expect(planActions(nothing, { anchorHash: "x", tables: ["t"] }, observed).map((a) => a.kind)).toEqual(["flush-anchor", "release-pf"]);
  });

  it("removes the tables of forwards that went away", () => {
    const desired = desiredOf(["a"], ["t_a"]);
    const observed: Observed = { ...freshHost, forwarding: "1", tokenHeld: true, labels: new Set(["a", "b"]) };
    expect(planActions(desired, { anchorHash: "old", tables: ["t_a", "t_b"] }, observed)).toContainEqual({ kind: "remove-tables", tables: ["t_b"] });
  });

  it("planning again after applying a plan yields no actions (idempotence)", () => {
    const labels = fc.uniqueArray(fc.constantFrom("a", "b", "c", "d"), { maxLength: 4 });
    const observed = fc.record({
      anchorPoints: fc.record({ rdr: fc.boolean(), filter: fc.boolean() }),
      tokenHeld: fc.boolean(),
      forwarding: fc.constantFrom("0", "1"),
      labels: labels.map((l) => new Set(l)),
    });
    const installed = fc.record({ anchorHash: fc.option(fc.constantFrom("h:a", "h:b", "x")), tables: fc.uniqueArray(fc.constantFrom("t1", "t2")) });
    fc.assert(
      fc.property(labels, fc.uniqueArray(fc.constantFrom("t1", "t2", "t3")), installed, observed, (wanted, tables, inst, obs) => {
        const desired = desiredOf(wanted, wanted.length ? tables : []);
        const first = planActions(desired, inst, obs);
        const after = afterApplying(first, desired, inst, obs);
        expect(planActions(desired, after.installed, after.observed)).toEqual([]);
      }),
      { numRuns: 2000 }, // cheap; at the default 100 a case with stale tables was found only now and then
    );
  });

  it("the watcher's model of the host after a plan (observedAfter) is what applying it leaves, so planning against the model again changes nothing", () => {
    const labels = fc.uniqueArray(fc.constantFrom("a", "b", "c", "d"), { maxLength: 4 });
    const observed = fc.record({
      anchorPoints: fc.record({ rdr: fc.boolean(), filter: fc.boolean() }),
      tokenHeld: fc.boolean(),
      forwarding: fc.constantFrom("0", "1"),
      labels: labels.map((l) => new Set(l)),
    });
    const installed = fc.record({ anchorHash: fc.option(fc.constantFrom("h:a", "h:b", "x")), tables: fc.uniqueArray(fc.constantFrom("t1", "t2")) });
    fc.assert(
      fc.property(labels, installed, observed, (wanted, inst, obs) => {
        const desired = desiredOf(wanted);
        const actions = planActions(desired, inst, obs);
        const after = afterApplying(actions, desired, inst, obs);
        const model = observedAfter(obs, actions, desired.labels);
        expect(model).toEqual(after.observed);
        expect(planActions(desired, after.installed, model)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});
