import { describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { pfNamesOf } from "../../compiler/pf-names.js";
import { compileFile } from "../../compiler/pipeline.js";
import { emptyState, parseState, reconcileState, type State } from "../../plugin/engine/state.js";
import { limaYaml } from "./fake-host.js";

const spec = compileFile({ vm: "web", file: "/lima/web/lima.yaml", text: limaYaml("allow privileged", "expose http 80 as 80 from 203.0.113.0/24 limit 5/30s max 10 log", "expose dns 53/udp as 5353 on en1") }).spec!;
const good: State = { ...emptyState(), vms: { web: { instance: "web", file: spec.file, address: "192.168.105.2" as Ipv4Address, spec } }, pfToken: "18446743525445205896", anchorHash: "a".repeat(64) };
const text = (state: unknown) => JSON.stringify(state, null, 2);
const edited = (edit: (s: Record<string, any>) => void) => {
  const copy = JSON.parse(text(good)) as Record<string, any>;
  edit(copy);
  return text(copy);
};

describe("the state file, read back", () => {
  it("reads back exactly what was written", () => {
    expect(parseState(text(good))).toEqual({ ok: true, state: good });
    expect(parseState(text(emptyState()))).toEqual({ ok: true, state: emptyState() });
  });

  it("refuses an address PF must never redirect to (a hand-edited 127.0.0.1)", () => {
    const result = parseState(edited((s) => (s.vms.web.address = "127.0.0.1")));
    expect(result).toEqual({ ok: false, reason: "vms.web.address: 127.0.0.1 is a loopback address" });
    expect(parseState(edited((s) => (s.vms.web.address = "192.168.105.2 port 1 -> 10.0.0.1")))).toMatchObject({ ok: false, reason: /not an IPv4 address/ });
  });

  it("refuses a spec no annotation could produce: values that would reach PF unchecked", () => {
    const cases: Array<(s: Record<string, any>) => void> = [
      (s) => (s.vms.web.spec.forwards[0].name = "http rdr-to 10.0.0.1"),
      (s) => (s.vms.web.spec.forwards[0].host = { first: 70000, last: 70000 }),
      (s) => (s.vms.web.spec.forwards[0].sources = ["203.0.113.0/24 } pass all {"]),
      (s) => (s.vms.web.spec.forwards[1].interfaces = ["en1 all"]),
      (s) => (s.vms.web.spec.forwards[0].limit = { count: 5, seconds: -1 }),
      (s) => (s.vms.web.spec.vm = "db"),
      (s) => (s.vms.web.spec.forwards = "nope"),
    ];
    for (const edit of cases) expect(parseState(edited(edit))).toMatchObject({ ok: false, reason: /vms\.web\.spec/ });
  });

  it("reads back a forward's `router` option, and a record written before the option existed as no mapping", () => {
    const routed = compileFile({ vm: "web", file: "/lima/web/lima.yaml", text: limaYaml("expose ssh as 2222 router", "expose http 80 as 8080 router upnp", "expose dns 53/udp as 5353") }).spec!;
    const state: State = { ...good, vms: { web: { ...good.vms.web!, spec: routed } } };
    expect(parseState(text(state))).toEqual({ ok: true, state });
    const older = JSON.parse(text(good)) as Record<string, any>;
    for (const forward of older.vms.web.spec.forwards) delete forward.router;
    expect(parseState(text(older))).toEqual({ ok: true, state: good });
    for (const router of [{ upnp: "yes" }, { upnp: true, via: "upnp" }, true, "router"]) {
      expect(parseState(edited((s) => (s.vms.web.spec.forwards[0].router = router)))).toMatchObject({ ok: false, reason: /vms\.web\.spec/ });
    }
  });

  it("refuses other damage with a reason: not JSON, another version, bad fields", () => {
    expect(parseState("{")).toMatchObject({ ok: false });
    expect(parseState(edited((s) => (s.version = 2)))).toEqual({ ok: false, reason: "version 2" });
    expect(parseState(edited((s) => (s.pfToken = "1; rm -rf /")))).toMatchObject({ ok: false, reason: /pfToken/ });
    expect(parseState(edited((s) => (s.heldDown = [1])))).toMatchObject({ ok: false, reason: /heldDown/ });
    // Recorded interfaces are written into rules when down keeps the others byte-identical.
    expect(parseState(edited((s) => (s.interfaces = ["en0 inet proto tcp from any to any port 22 -> 127.0.0.1 port 22 #"])))).toMatchObject({ ok: false, reason: /interfaces/ });
    expect(parseState(edited((s) => (s.interfaces = ["lo0"])))).toMatchObject({ ok: false, reason: /interfaces/ });
    expect(parseState(edited((s) => (s.interfaces = ["en0", "en1"])))).toMatchObject({ ok: true });
    expect(parseState(edited((s) => (s.vms.web.instance = "db")))).toMatchObject({ ok: false, reason: /vms\.web is not a VM record/ });
  });

  it("reconciles with pfctl: a VM whose labels are gone is no longer applied, a token PF forgot is dropped", () => {
    const labels = new Set(pfNamesOf(spec).map((n) => n.label));
    const observed = { anchorPoints: { rdr: true, filter: true }, forwarding: "1" };
    expect(reconcileState(good, { ...observed, tokenHeld: true, labels })).toEqual(good);
    expect(reconcileState(good, { ...observed, tokenHeld: false, labels: new Set() })).toEqual({ ...good, vms: {}, pfToken: null, anchorHash: null });
  });
});
