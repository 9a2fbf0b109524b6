// A damaged state file, rebuilt from PF's rules (plugin/engine/state-recovery.ts): the VMs whose
// loaded rules are what their annotation compiles to, at the address PF sends them to; the host
// records the damaged file still gives, each checked on its own.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emitAnchor } from "../../compiler/emit-pf.js";
import type { InterfaceName, Ipv4Address } from "../../compiler/ir.js";
import { compileFile } from "../../compiler/pipeline.js";
import { vmAddressProblem } from "../../compiler/validate/addresses.js";
import { rebuildState } from "../../plugin/engine/state-recovery.js";
import { emptyState, salvageState } from "../../plugin/engine/state.js";
import { parseLoadedPasses } from "../../compiler/pf/printed-rule.js";
import { arbitraryPlacedVms, limaYamlOf } from "../arbitraries.js";
import { pfctlFixtures } from "../pfctl-fixtures.js";
import { normalise } from "../standins/pfctl/ruleset.mjs";
import { limaYaml } from "./fake-host.js";

const EN0 = ["en0" as InterfaceName] as const;

/** What `pfctl -a limawan -s rules` prints once the anchor is loaded: its filter rules, as pfctl prints them back (the stand-in's model). */
function printedRules(vms: Array<{ vm: string; text: string; address: string }>): string {
  const placed = vms.map(({ vm, text, address }) => ({ spec: compileFile({ vm, file: `/lima/${vm}/lima.yaml`, text }).spec!, address: address as Ipv4Address }));
  const anchor = emitAnchor(placed, { defaultInterfaces: EN0 });
  if (!anchor.ok) throw new Error("the test's anchor does not compile");
  return anchor.text.split("\n").filter((l) => /^(pass|block)/.test(l)).map((l) => `${normalise(l)}\n`).join("");
}

const source = (vm: string, text: string) => ({ vm, file: `/lima/${vm}/lima.yaml`, text });
const WEB = limaYaml("expose ssh 22 as 2222 limit 5/30s", "expose http 80 as 8080 on en0, en1", "expose dns 53/udp as 5353");
const DB = limaYaml("expose pg 5432 as 15432 from 203.0.113.0/24");

describe("pfctl's pass rules, read back", () => {
  it("reads each labelled pass of macOS pfctl's -v listing: interface, protocol, address, guest ports", () => {
    const fixture = pfctlFixtures("handmade").find((f) => f.case === "rules-verbose")!;
    expect(parseLoadedPasses(fixture.stdout)).toEqual([
      { label: "limawan:web:ssh", interface: "en0", protocol: "tcp", address: "192.168.105.2", ports: { first: 22, last: 22 } },
      { label: "limawan:web:http", interface: "en0", protocol: "tcp", address: "192.168.105.2", ports: { first: 80, last: 80 } },
      { label: "limawan:web:https", interface: "en0", protocol: "tcp", address: "192.168.105.2", ports: { first: 443, last: 443 } },
      { label: "limawan:web:admin", interface: "en0", protocol: "tcp", address: "192.168.105.2", ports: { first: 9090, last: 9090 } },
      { label: "limawan:web:dns", interface: "en0", protocol: "udp", address: "192.168.105.2", ports: { first: 53, last: 53 } },
      { label: "limawan:web:api", interface: "en0", protocol: "tcp", address: "192.168.105.2", ports: { first: 9000, last: 9010 } },
    ]);
  });
});

describe("a damaged state, rebuilt from PF's rules", () => {
  it("gives back every VM whose rules are loaded as its annotation compiles, at PF's address, with the default interfaces", () => {
    const passes = parseLoadedPasses(printedRules([{ vm: "web", text: WEB, address: "192.168.105.5" }, { vm: "db", text: DB, address: "192.168.105.6" }]));
    const rebuilt = rebuildState({ text: "{ half a file", passes, annotations: [source("web", WEB), source("db", DB), source("idle", limaYaml("expose x 1 as 1001"))] });
    expect(rebuilt.vms).toEqual(["db", "web"]);
    expect(rebuilt.state.vms.web).toEqual({ instance: "web", file: "/lima/web/lima.yaml", address: "192.168.105.5", spec: compileFile(source("web", WEB)).spec });
    expect(rebuilt.state.vms.db).toMatchObject({ address: "192.168.105.6", spec: compileFile(source("db", DB)).spec });
    expect(rebuilt.state.interfaces).toEqual(["en0"]);
    expect(rebuilt.state.anchorHash).toBeNull();
    expect(rebuilt.unowned).toEqual([]);
  });

  it("leaves out what the annotation no longer compiles to: a changed guest port, a removed forward (unowned); an added one is not applied", () => {
    const passes = parseLoadedPasses(printedRules([{ vm: "web", text: WEB, address: "192.168.105.5" }]));
    const edited = limaYaml("expose ssh 2022 as 2222 limit 5/30s", "expose http 80 as 8080 on en0, en1", "expose new 9000 as 19000");
    const rebuilt = rebuildState({ text: "", passes, annotations: [source("web", edited)] });
    expect(rebuilt.state.vms.web!.spec.forwards.map((f) => f.name)).toEqual(["http"]);
    expect(rebuilt.unowned.sort()).toEqual(["limawan:web:dns", "limawan:web:ssh"]);
    // No forward left without an explicit interface: nothing says what the default was.
    expect(rebuilt.state.interfaces).toEqual([]);
  });

  it("never takes an address PF must not redirect to, nor a VM whose rules go to two addresses", () => {
    const loopback = parseLoadedPasses(printedRules([{ vm: "web", text: WEB, address: "192.168.105.5" }]).replaceAll("192.168.105.5", "127.0.0.1"));
    expect(rebuildState({ text: "", passes: loopback, annotations: [source("web", WEB)] }).state.vms).toEqual({});
    const split = parseLoadedPasses(printedRules([{ vm: "web", text: WEB, address: "192.168.105.5" }]).replace(/192\.168\.105\.5 port = 53/, "192.168.105.9 port = 53"));
    const rebuilt = rebuildState({ text: "", passes: split, annotations: [source("web", WEB)] });
    expect(rebuilt.state.vms).toEqual({});
    expect(rebuilt.unowned).toHaveLength(3);
  });

  it("keeps the host records the damaged file still gives, each only when it reads back on its own", () => {
    const good = { ...emptyState(), pfToken: "18446743525445205896", forwarding: { prior: "0", changedByLimawan: true }, heldDown: ["db"], vms: { web: { address: "127.0.0.1" } } };
    expect(salvageState(JSON.stringify(good))).toEqual({ record: { pfToken: good.pfToken, forwarding: good.forwarding, pfConf: null, heldDown: ["db"], points: good.points, router: good.router }, lost: [] });
    expect(salvageState(JSON.stringify({ ...good, pfToken: "1; rm -rf /", forwarding: { prior: "x" } })).lost).toEqual(["pfToken", "forwarding"]);
    // Not JSON, or another version's file: nothing of it is taken.
    expect(salvageState('{"version": 1, "pfToken": "1').lost).toEqual(["pfToken", "forwarding", "pfConf", "heldDown", "points", "router"]);
    expect(salvageState(JSON.stringify({ ...good, version: 2 })).record).toEqual({});
    const rebuilt = rebuildState({ text: JSON.stringify(good), passes: [], annotations: [] });
    expect(rebuilt.state).toEqual({ ...emptyState(), pfToken: good.pfToken, forwarding: good.forwarding, heldDown: ["db"] });
  });

  it("rebuilds exactly the VMs that were loaded, from any valid set of them (property)", () => {
    fc.assert(
      fc.property(arbitraryPlacedVms({ interfaces: ["en1", "en2"] }), (placed) => {
        fc.pre(placed.every((vm) => vmAddressProblem(vm.address, false) === null));
        const anchor = emitAnchor(placed, { defaultInterfaces: EN0 });
        fc.pre(anchor.ok);
        if (!anchor.ok) return;
        const printed = anchor.text.split("\n").map((l) => normalise(l)).join("\n");
        const annotations = placed.map(({ spec }) => ({ vm: spec.vm, file: spec.file, text: limaYamlOf(spec) }));
        const rebuilt = rebuildState({ text: "", passes: parseLoadedPasses(printed), annotations });
        expect(rebuilt.unowned).toEqual([]);
        expect(rebuilt.state.vms).toEqual(Object.fromEntries(placed.map(({ spec, address }) => [spec.vm, { instance: spec.vm, file: spec.file, address, spec }])));
        const usesDefault = placed.some(({ spec }) => spec.forwards.some((f) => f.interfaces === null));
        expect(rebuilt.state.interfaces).toEqual(usesDefault ? ["en0"] : []);
      }),
      { numRuns: 60 },
    );
  });
});
