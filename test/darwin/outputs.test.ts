// The pfctl adapter's parsers on what the real pfctl prints: -E, -X, -s References, -s labels,
// -sn, -sr, -s dummynet, -s Interfaces, -s Tables, -T show/delete/expire, a missing table, a missing anchor.
// With LIMAWAN_RECORD_FIXTURES=1 each output is also kept in test/fixtures/macos/recorded/,
// which the Linux tests then hold the parsers and the pfctl stand-in to — recorded before it is
// checked, so a Mac that answers otherwise leaves the answer behind.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompiledAnchor } from "../../compiler/emit-pf.js";
import { removeAnchorPoints } from "../../compiler/pf/pf-conf-edit.js";
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
  Pfctl,
  releaseOutcome,
} from "../../plugin/host/pfctl.js";
import { APPLE_PF_CONF } from "../apple-pf-conf.js";
import { enable, freePort, lo0Anchor, pf, pfctl, record, runner, session } from "./context.js";
import { recordToken } from "./session.mjs";

const [, LISTED] = session.aliases as [string, string];
let anchor: CompiledAnchor;

beforeAll(async () => {
  anchor = lo0Anchor([`expose web ${await freePort()} as ${await freePort()} from ${LISTED} limit 3/4s`]);
  await pf.loadAnchor(anchor.text);
});
afterAll(async () => {
  await pf.flushAnchor();
});

describe("this Mac's pfctl, read by LimaWAN's parsers", () => {
  it("enable references: -E prints a token, -s References lists it, -X releases it, a second -X is refused", async () => {
    // A reference of our own first, so PF stays enabled while the one under test comes and goes.
    const holder = await enable();
    const enabled = await pfctl(["-E"]);
    const token = parseEnableToken(enabled);
    if (token) recordToken(session.tokenFile, token);
    record("enable", ["-E"], enabled, token ? { token } : {});
    expect(enabled.exitCode).toBe(0);
    expect(token).toMatch(/^\d+$/);

    const listed = await pfctl(["-s", "References"]);
    const references = parseReferences(listed.stdout);
    record("references", ["-s", "References"], listed, { tokens: [token!, holder] }, { references: references.length });
    expect(references.map((r) => r.token)).toEqual(expect.arrayContaining([token, holder]));

    const released = await pfctl(["-X", token!]);
    record("release-more", ["-X", token!], released, { outcome: "released" }, { references: references.length });
    expect(releaseOutcome(released)).toBe("released");
    expect(released.stderr).toMatch(/more pf enable reference\(s\) remaining, pf still enabled\./);
    expect(await pf.references()).not.toContain(token);

    const again = await pfctl(["-X", token!]);
    record("release-unknown", ["-X", token!], again, { outcome: "unknown-token" }, { references: references.length - 1 });
    expect(again.exitCode).not.toBe(0);
    expect(releaseOutcome(again)).toBe("unknown-token");

    const last = await pfctl(["-X", holder]);
    const remaining = references.length - 2;
    record(remaining === 0 ? "release-last" : "release-more-others", ["-X", holder], last, { outcome: "released" }, { references: remaining + 1 });
    expect(releaseOutcome(last)).toBe("released");
    expect(await pf.references()).not.toContain(holder);
    if (remaining === 0) {
      const none = await pfctl(["-s", "References"]);
      record("references-none", ["-s", "References"], none, { tokens: [] }, { references: 0 });
      expect(parseReferences(none.stdout)).toEqual([]);
      const stopped = await pfctl(["-X", holder]);
      record("release-not-enabled", ["-X", holder], stopped, { outcome: "not-enabled" }, { references: 0 });
      expect(releaseOutcome(stopped)).toBe("not-enabled");
    }
  });

  it("-s labels: one line per labelled filter rule, seven counters", async () => {
    const result = await pfctl(["-a", session.anchor, "-s", "labels"]);
    const want = Object.fromEntries(anchor.forwards.map((f) => [f.label, { states: null }]));
    record("labels", ["-a", session.anchor, "-s", "labels"], result, { labels: want }, { anchorText: anchor.text });
    const labels = parseLabels(result.stdout);
    expect([...labels.keys()]).toEqual(Object.keys(want));
    for (const counters of labels.values()) expect(counters.states).toBeNull();
  });

  it("-v -s rules: each rule's counters, states among them, agreeing with -s labels read on either side", async () => {
    // status and monitor read counters from -v -s rules alone: they must be what -s labels says.
    // Two reads are two moments, and every packet on lo0 between them is evaluated against
    // these rules: evaluations may only grow from one read to the next. Packets and bytes count
    // what a rule passed — forwarded traffic, and nothing connects to this file's port — so
    // they must be equal.
    const labelsBefore = parseLabels((await pfctl(["-a", session.anchor, "-s", "labels"])).stdout);
    const result = await pfctl(["-a", session.anchor, "-v", "-s", "rules"]);
    const labelsAfter = parseLabels((await pfctl(["-a", session.anchor, "-s", "labels"])).stdout);
    const want = Object.fromEntries(anchor.forwards.map((f) => [f.label, 0]));
    record("rules-verbose", ["-a", session.anchor, "-v", "-s", "rules"], result, { states: want }, { anchorText: anchor.text });

    const counters = parseRuleCounters(result.stdout);
    expect(Object.fromEntries([...counters].map(([label, c]) => [label, c.states]))).toEqual(want);
    for (const [label, c] of counters) {
      const [before, after] = [labelsBefore.get(label), labelsAfter.get(label)];
      expect(before, label).toBeDefined();
      expect(after, label).toBeDefined();
      for (const read of [before!, after!]) expect({ packets: c.packets, bytes: c.bytes }, label).toEqual({ packets: read.packets, bytes: read.bytes });
      expect(c.evaluations, label).toBeGreaterThanOrEqual(before!.evaluations);
      expect(c.evaluations, label).toBeLessThanOrEqual(after!.evaluations);
    }
    expect((await pf.counters()).get(anchor.forwards[0]!.label)?.states).toBe(0);
  });

  it("an anchor nothing refers to cannot be listed: DIOCGETRULES on stderr, exit 0 (main() ignores it); the adapter reads it as empty", async () => {
    const missing = `${session.anchor}-never`;
    const result = await pfctl(["-a", missing, "-s", "labels"]);
    // Recorded before the checks: a Mac that answers otherwise is the evidence wanted.
    record("labels-missing-anchor", ["-a", missing, "-s", "labels"], result, { labels: {}, missingAnchor: true });
    expect(isMissingAnchor(result.stderr)).toBe(true);
    expect(result.stdout).toBe("");
    expect(result.exitCode).toBe(0);
    expect((await new Pfctl(runner, missing).labels()).size).toBe(0);
  });

  it("-sn, -sr, -s dummynet: the main ruleset with the session's anchor points", async () => {
    const nat = await pfctl(["-sn"]);
    const rules = await pfctl(["-sr"]);
    const dummynet = await pfctl(["-s", "dummynet"]);
    record("nat-main", ["-sn"], nat, { anchorPoints: { anchor: session.anchor, kind: "rdr-anchor", present: true } }, { main: session.mainText });
    record("rules-main", ["-sr"], rules, { anchorPoints: { anchor: session.anchor, kind: "anchor", present: true } }, { main: session.mainText });
    record("dummynet-main", ["-s", "dummynet"], dummynet, {}, { main: session.mainText });
    expect(hasAnchorPoint(nat.stdout, "rdr-anchor", session.anchor)).toBe(true);
    expect(hasAnchorPoint(rules.stdout, "anchor", session.anchor)).toBe(true);
    expect(await pf.loadedAnchorPoints()).toEqual({ rdr: true, filter: true });
    expect(dummynet.exitCode).toBe(0);
  });

  it("-s Interfaces -v: one interface a line, `(skip)` after those `set skip on` exempts (pfctl's print_iface)", async () => {
    const listed = await pfctl(["-s", "Interfaces", "-v"]);
    expect(listed.exitCode).toBe(0);
    const lines = listed.stdout.trim().split("\n");
    expect(lines.filter((l) => /^lo0( \(skip\))?$/.test(l))).toHaveLength(1);
    for (const line of lines) expect(line).toMatch(/^\S+( \(skip\))?$/);
    expect([...(await pf.skippedInterfaces())].sort()).toEqual(lines.filter((l) => l.endsWith(" (skip)")).map((l) => l.split(" ")[0]).sort());
  });

  it("-s Tables and -T show list the anchor's tables and a table's addresses", async () => {
    const { sourceTable, banTable } = anchor.forwards[0]!;
    const tables = await pfctl(["-a", session.anchor, "-s", "Tables"]);
    record("tables", ["-a", session.anchor, "-s", "Tables"], tables, { tables: [banTable!, sourceTable!].sort() }, { anchorText: anchor.text });
    expect([...parseTableNames(tables.stdout)].sort()).toEqual([banTable!, sourceTable!].sort());

    const show = await pfctl(["-a", session.anchor, "-t", sourceTable!, "-T", "show"]);
    record("table-show", ["-a", session.anchor, "-t", sourceTable!, "-T", "show"], show, { entries: [LISTED] }, { anchorText: anchor.text });
    expect(parseTableEntries(show.stdout)).toEqual([LISTED]);
    expect(await pf.tableEntries(sourceTable!)).toEqual([LISTED]);

    const missingTable = `${banTable!.slice(0, 24)}_nope`;
    const missing = await pfctl(["-a", session.anchor, "-t", missingTable, "-T", "show"]);
    record("table-missing", ["-a", session.anchor, "-t", missingTable, "-T", "show"], missing, { missing: true }, { anchorText: anchor.text });
    expect(missing.exitCode).not.toBe(0);
    expect(isMissingTable(missing.stderr)).toBe(true);
    expect(await pf.tableEntries(missingTable)).toEqual([]);
  });

  it("-T delete and -T expire say what they did on stderr", async () => {
    const { banTable } = anchor.forwards[0]!;
    const address = session.aliases[5]!;
    expect((await pfctl(["-a", session.anchor, "-t", banTable!, "-T", "add", address])).exitCode).toBe(0);
    const deleted = await pfctl(["-a", session.anchor, "-t", banTable!, "-T", "delete", address]);
    record("table-delete", ["-a", session.anchor, "-t", banTable!, "-T", "delete", address], deleted, {}, { anchorText: anchor.text, tables: { [banTable!]: [address] } });
    expect([deleted.exitCode, deleted.stderr]).toEqual([0, expect.stringMatching(/^1\/1 addresses deleted\.$/m)]);

    expect((await pfctl(["-a", session.anchor, "-t", banTable!, "-T", "add", address])).exitCode).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const expired = await pfctl(["-a", session.anchor, "-t", banTable!, "-T", "expire", "0"]);
    record("table-expire", ["-a", session.anchor, "-t", banTable!, "-T", "expire", "0"], expired, {}, { anchorText: anchor.text, tables: { [banTable!]: [address] } });
    expect([expired.exitCode, expired.stderr]).toEqual([0, expect.stringMatching(/^1\/1 addresses expired\.$/m)]);
    expect(await pf.tableEntries(banTable!)).toEqual([]);
  });

  // A CI runner's pf.conf is the image's, and must be Apple's: anything else is a fact of ours
  // gone wrong. A contributor's Mac may have an edited one (guides add `set skip on lo0`,
  // blocks, anchors): that is worth knowing, but says nothing about LimaWAN, which edits the
  // loaded ruleset and never pf.conf (PF-FACTS.md §4a).
  const onCiRunner = process.env.CI === "true" || process.env.GITHUB_ACTIONS === "true";

  it(`this Mac's /etc/pf.conf is Apple's (test/fixtures/macos/pf.conf), LimaWAN's anchor points aside${onCiRunner ? "" : " (information only: not a CI runner)"}`, async ({ annotate }) => {
    const found = removeAnchorPoints(readFileSync("/etc/pf.conf", "utf8")).text;
    if (onCiRunner || found === APPLE_PF_CONF) {
      expect(found).toBe(APPLE_PF_CONF);
      return;
    }
    const ours = found.split("\n");
    const apple = APPLE_PF_CONF.split("\n");
    const at = [...Array(Math.max(ours.length, apple.length)).keys()].find((i) => ours[i] !== apple[i]) ?? 0;
    const note = `this Mac's /etc/pf.conf is not Apple's default: from line ${at + 1}, it has ${JSON.stringify(ours[at] ?? "(end of file)")} where Apple's has ${JSON.stringify(apple[at] ?? "(end of file)")}. Information only (strict on CI runners).`;
    console.info(note);
    await annotate(note, "notice");
  });
});
