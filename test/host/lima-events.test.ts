import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseEventPhase, parseWatchLine } from "../../plugin/host/lima-events.js";
import { atLeast, parseVersion } from "../../plugin/host/lima.js";

const log = readFileSync(new URL("../fixtures/lima/ha.stdout.log", import.meta.url), "utf8").trim().split("\n");

describe("host-agent events (fixtures/lima/ha.stdout.log)", () => {
  it("reads a start and a stop as booting… running… stopping", () => {
    const phases = log.map(parseEventPhase);
    expect(phases).toEqual(["booting", "booting", "booting", "booting", "booting", "booting", "running", "running", "stopping"]);
  });

  it("reads `limactl watch --json` lines, which wrap the same event with the instance's name", () => {
    const wrapped = log.map((line) => JSON.stringify({ instance: "web", event: JSON.parse(line) as unknown }));
    expect(wrapped.map(parseWatchLine).at(-1)).toEqual({ instance: "web", phase: "stopping" });
    expect(parseWatchLine(wrapped[6]!)).toEqual({ instance: "web", phase: "running" });
  });

  it("ignores what is not an event: logrus lines, JSON without an instance, null", () => {
    expect(parseWatchLine('time="2026-08-22T10:15:02+02:00" level=info msg="Watching for events..."')).toBeNull();
    expect(parseWatchLine('{"event":{"status":{"running":true}}}')).toBeNull();
    expect(parseWatchLine("null")).toBeNull();
    expect(parseEventPhase("null")).toBeNull();
  });
});

describe("limactl --version (LIMA-FACTS.md §8)", () => {
  it("reads release and git builds, and compares versions", () => {
    expect(parseVersion("limactl version 2.2.0\n")).toEqual({ major: 2, minor: 2, patch: 0, text: "limactl version 2.2.0" });
    expect(parseVersion("limactl version v2.2.0-153-g183a60d7.m\n")).toMatchObject({ major: 2, minor: 2, patch: 0 });
    expect(parseVersion("lima 2.2")).toBeNull();
    expect(atLeast(parseVersion("limactl version 2.1.0"), 2, 1)).toBe(true);
    expect(atLeast(parseVersion("limactl version 2.0.9"), 2, 1)).toBe(false);
    expect(atLeast(parseVersion("limactl version 3.0.0"), 2, 1)).toBe(true);
    expect(atLeast(null, 2, 0)).toBe(false);
  });
});
