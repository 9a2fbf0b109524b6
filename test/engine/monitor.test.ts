import { describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { compileFile } from "../../compiler/pipeline.js";
import { monitorEvents, monitorSnapshot, parseDuration, redrawFrame } from "../../plugin/engine/monitor.js";
import { emptyState, type State } from "../../plugin/engine/state.js";
import { parseStates, parseVerboseTableEntries } from "../../plugin/host/pfctl.js";
import { limaYaml } from "./fake-host.js";

const spec = compileFile({ vm: "web", file: "/lima/web/lima.yaml", text: limaYaml("expose ssh 22 as 2222 limit 5/30s", "expose http 80 as 8080") }).spec!;
const state: State = { ...emptyState(), vms: { web: { instance: "web", file: spec.file, address: "192.168.105.2" as Ipv4Address, spec } } };
const NOW = Date.parse("2026-11-29T22:00:00Z");
const counters = new Map([["limawan:web:ssh", { evaluations: 10, packets: 40, bytes: 4000, states: null }], ["limawan:web:http", { evaluations: 2, packets: 8, bytes: 800, states: null }]]);
const STATES = parseStates(
  [
    "ALL tcp 192.168.105.2:22 <- 203.0.113.10:2222 <- 198.51.100.7:51234       ESTABLISHED:ESTABLISHED",
    "ALL tcp 192.168.105.2:22 <- 203.0.113.10:2222 <- 198.51.100.7:51235       ESTABLISHED:ESTABLISHED",
    "ALL tcp 192.168.105.2:22 <- 203.0.113.10:2222 <- 198.51.100.9:40000       FIN_WAIT_2:FIN_WAIT_2",
    "ALL tcp 192.168.105.2:80 <- 203.0.113.10:8080 <- 198.51.100.9:40001       ESTABLISHED:ESTABLISHED",
    "ALL tcp 192.168.1.17:56993 -> 17.57.145.5:5223       ESTABLISHED:ESTABLISHED",
    "ALL udp 192.168.105.2:22 <- 203.0.113.10:2222 <- 198.51.100.1:1       MULTIPLE:SINGLE",
  ].join("\n"),
);
const bans = new Map([["lw_web_ssh_ban", parseVerboseTableEntries("   198.51.100.66\n\tCleared:     Sun Nov 29 21:30:00 2026\n\tIn/Block:    [ Packets: 0                  Bytes: 0                  ]\n")]]);

describe("monitor", () => {
  it("reads pfctl's states (inbound ones) and a ban table with when each source was banned", () => {
    expect(STATES).toHaveLength(5); // the outbound state is not a forward's
    expect(STATES[0]).toEqual({ proto: "tcp", internal: { address: "192.168.105.2", port: 22 }, dialled: { address: "203.0.113.10", port: 2222 }, remote: { address: "198.51.100.7", port: 51234 }, states: "ESTABLISHED:ESTABLISHED" });
    expect(bans.get("lw_web_ssh_ban")).toEqual([{ address: "198.51.100.66", cleared: new Date("Sun Nov 29 21:30:00 2026") }]);
  });

  it("gives each forward its counters, its live states by protocol and port, top sources, and its bans with their age", () => {
    const snapshot = monitorSnapshot({ state, counters, pfStates: STATES, bans, now: NOW });
    const ssh = snapshot.forwards.find((f) => f.forward === "ssh")!;
    expect(ssh).toMatchObject({ loaded: true, packets: 40, bytes: 4000, states: 3, topSources: [{ address: "198.51.100.7", states: 2 }, { address: "198.51.100.9", states: 1 }], banTable: "lw_web_ssh_ban" });
    expect(ssh.banned).toEqual([{ address: "198.51.100.66", since: new Date("Sun Nov 29 21:30:00 2026").toISOString(), ageSeconds: (NOW - new Date("Sun Nov 29 21:30:00 2026").getTime()) / 1000 }]);
    expect(snapshot.forwards.find((f) => f.forward === "http")).toMatchObject({ states: 1, banTable: null, banned: [] });
  });

  it("reports bans added and lifted, and forwards that stop or come back", () => {
    const before = monitorSnapshot({ state, counters, pfStates: [], bans: new Map(), now: NOW });
    const banned = monitorSnapshot({ state, counters, pfStates: [], bans, now: NOW + 1000 });
    expect(monitorEvents(before, banned)).toEqual([{ event: "banned", at: banned.at, instance: "web", forward: "ssh", address: "198.51.100.66" }]);
    const unloaded = monitorSnapshot({ state, counters: new Map(), pfStates: [], bans: new Map(), now: NOW + 2000 });
    expect(monitorEvents(banned, unloaded).map((e) => [e.event, e.forward])).toEqual([["forward-down", "ssh"], ["unbanned", "ssh"], ["forward-down", "http"]]);
    const gone = monitorSnapshot({ state: emptyState(), counters, pfStates: [], bans: new Map(), now: NOW + 3000 });
    expect(monitorEvents(before, gone).map((e) => e.event)).toEqual(["forward-down", "forward-down"]);
    expect(monitorEvents(null, before)).toEqual([]);
  });

  it("reads durations for expire", () => {
    expect([parseDuration("30s"), parseDuration("10m"), parseDuration("2h"), parseDuration("7d"), parseDuration("7 days"), parseDuration("-1h")]).toEqual([30, 600, 7200, 604_800, null, null]);
  });
});

describe("redrawFrame", () => {
  it("overwrites the last frame in place: home, each line cleared after it is written, the rest cleared; never a blank screen", () => {
    expect(redrawFrame("a\n\nbb")).toBe("\x1b[Ha\x1b[K\n\x1b[K\nbb\x1b[K\n\x1b[J");
    expect(redrawFrame("a\nb")).not.toMatch(/\x1b\[2J/);
  });
});
