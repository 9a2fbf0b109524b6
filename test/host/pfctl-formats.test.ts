// The pfctl adapter's parsers on macOS pfctl's own output: the hand-made fixtures always, and
// whatever the darwin suite recorded on a real Mac (test/fixtures/macos/recorded/). A parser
// that misreads these makes every command forget the applied VMs (state.ts trusts them).
import { describe, expect, it } from "vitest";
import { hasAnchorPoint } from "../../compiler/pf/loaded-ruleset-edit.js";
import {
  isMissingAnchor,
  isMissingTable,
  parseEnableToken,
  parseLabels,
  parseReferences,
  parseRuleCounters,
  parseTableEntries,
  parseTableNames,
  releaseOutcome,
  withoutNoise,
} from "../../plugin/host/pfctl.js";
import { pfctlFixtures, type PfctlFixture } from "../pfctl-fixtures.js";

const handmade = pfctlFixtures("handmade");
const recorded = pfctlFixtures("recorded");

function checkParsers(f: PfctlFixture): void {
  const { expect: want } = f;
  if (want.token !== undefined) expect(parseEnableToken(f)).toBe(want.token);
  if (want.tokens !== undefined) {
    const tokens = parseReferences(f.stdout).map((r) => r.token);
    // A recording knows only its own token; other holders may be listed beside it.
    if (f.case === "references-none") expect(tokens).toEqual([]);
    else expect(tokens).toEqual(expect.arrayContaining(want.tokens));
  }
  if (want.outcome !== undefined) expect(releaseOutcome(f)).toBe(want.outcome);
  if (want.labels !== undefined) {
    const labels = parseLabels(f.stdout);
    expect([...labels.keys()].sort()).toEqual(Object.keys(want.labels).sort());
    for (const [label, counters] of Object.entries(want.labels)) expect(labels.get(label), label).toMatchObject(counters);
  }
  if (want.anchorPoints !== undefined) {
    const { anchor, kind, present } = want.anchorPoints;
    expect(hasAnchorPoint(f.stdout, kind, anchor)).toBe(present);
  }
  if (want.tables !== undefined) expect(parseTableNames(f.stdout)).toEqual(want.tables);
  if (want.entries !== undefined) expect(parseTableEntries(f.stdout)).toEqual(want.entries);
  if (want.missing !== undefined) expect(isMissingTable(f.stderr)).toBe(want.missing);
  if (want.states !== undefined) expect(Object.fromEntries([...parseRuleCounters(f.stdout)].map(([label, c]) => [label, c.states]))).toEqual(want.states);
  if (want.missingAnchor !== undefined) expect(isMissingAnchor(f.stderr)).toBe(want.missingAnchor);
  // Whatever else pfctl says on stderr, its notices are never mistaken for an error.
  if (f.exitCode === 0) expect(withoutNoise(f.stderr)).not.toMatch(/No ALTQ|Use of -f option/);
}

describe("pfctl output parsers, on hand-made macOS fixtures (docs/PFCTL-OUTPUT.md)", () => {
  it("has a fixture for every output the adapter reads", () => {
    expect(handmade.map((f) => f.case)).toEqual(
      expect.arrayContaining(["enable", "references", "references-none", "release-last", "release-unknown", "labels", "labels-missing-anchor", "rules-verbose", "rules-main", "nat-main", "tables", "table-show", "table-missing"]),
    );
  });

  it.each(handmade.map((f) => [f.case, f] as const))("reads %s", (_, f) => checkParsers(f));
});

describe.runIf(recorded.length > 0)("pfctl output parsers, on outputs recorded on a Mac", () => {
  it.each(recorded.map((f) => [f.case, f] as const))("reads %s", (_, f) => checkParsers(f));
});

describe("pfctl output parsers, edge cases", () => {
  it("keeps 20-digit tokens exact (above 2^53)", () => {
    const [reference] = parseReferences("TOKENS:\nPID      Process Name                 TOKEN                    TIMESTAMP\n77       Little Snitch Daemon         18446744073709551615     1 days 00:00:01\n");
    expect(reference).toEqual({ pid: 77, process: "Little Snitch Daemon", token: "18446744073709551615", age: "1 days 00:00:01" });
  });

  it("reads the states column where pfctl prints one (FreeBSD), and leaves it unknown where not (macOS)", () => {
    expect(parseLabels("x 1 2 3 1 1 1 2 4\nx 1 2 3 1 1 1 2 5\n").get("x")).toEqual({ evaluations: 2, packets: 4, bytes: 6, states: 9 });
    expect(parseLabels("x 1 2 3 1 1 1 2\n").get("x")?.states).toBeNull();
    expect(parseLabels("LABEL COUNTERS:\nnot a label line\n").size).toBe(0);
  });

  it("names anchor points exactly: `limawan` is not `limawan-test-1`", () => {
    expect(hasAnchorPoint('anchor "limawan-test-1" all\n', "anchor", "limawan")).toBe(false);
    expect(hasAnchorPoint('anchor "limawan-test-1" all\n', "anchor", "limawan-test-1")).toBe(true);
    expect(hasAnchorPoint('rdr-anchor "limawan" all\n', "anchor", "limawan")).toBe(false);
  });

  it("drops the -f warning in both its forms: one line (PF-FACTS.md) and broken after \"rules\" (the binary)", () => {
    const twoLines = "pfctl: Use of -f option, could result in flushing of rules\npresent in the main ruleset added by the system at startup.\nSee /etc/pf.conf for further details.\n";
    const oneLine = "pfctl: Use of -f option, could result in flushing of rules present in the main ruleset added by the system at startup.\nSee /etc/pf.conf for further details.\n";
    expect(withoutNoise(`${twoLines}stdin:2: syntax error\n`)).toBe("stdin:2: syntax error");
    expect(withoutNoise(oneLine)).toBe("");
  });

  it("tells a released, an unknown and a failed -X apart", () => {
    expect(releaseOutcome({ exitCode: 1, stdout: "", stderr: "pfctl: pf not enabled\n" })).toBe("not-enabled");
    expect(releaseOutcome({ exitCode: 1, stdout: "", stderr: "pfctl: /dev/pf: Permission denied\n" })).toBe("failed");
  });
});
