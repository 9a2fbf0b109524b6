// doctor's judgement from plain facts: a healthy host passes, and a fact that could not be read is
// said to be unknown with its own reason — a broken limactl is not "no instances", a damaged
// state file is not "needs root".
import { describe, expect, it } from "vitest";
import { compileFile } from "../../compiler/pipeline.js";
import { FILTER_POINT, RDR_POINT } from "../../compiler/pf/anchor-points.js";
import { doctor } from "../../plugin/engine/doctor.js";
import type { DoctorFacts } from "../../plugin/engine/doctor-facts.js";
import { doctorCheckJson } from "../../plugin/engine/finding-render.js";
import { unread } from "../../plugin/engine/reading.js";
import { damagedStateError, emptyState } from "../../plugin/engine/state.js";
import { CliError, EXIT } from "../../plugin/errors.js";
import { limaYaml } from "./fake-host.js";

const ok = <T>(value: T) => ({ ok: true as const, value });
const NOW = Date.parse("2026-12-08T12:00:00Z");
const FILE = "/Users/ada/.lima/web/lima.yaml";

function healthy(): DoctorFacts {
  const text = limaYaml("interface en0", "expose ssh 22 as 2222");
  const instance = { name: "web", status: "Running", dir: "/Users/ada/.lima/web", network: [{ lima: "shared", macAddress: "52:55:55:00:00:01" }] };
  return {
    platform: "darwin",
    isRoot: true,
    version: "1.0.0",
    lima: { major: 2, minor: 1, patch: 0, text: "limactl version 2.1.0" },
    pfConfFile: "/etc/pf.conf",
    pfConf: ok(`${RDR_POINT}\n${FILTER_POINT}\n`),
    pf: ok({ main: { translation: `${RDR_POINT}\n`, filter: `${FILTER_POINT}\n` }, enabled: true }),
    stateFile: "/var/db/limawan/state.json",
    state: ok({ read: { ok: true as const, state: emptyState() }, kept: [] }),
    forwarding: ok("1"),
    defaultInterface: "en0",
    rootCopy: { dir: "/opt/limawan", launcher: "/opt/limawan/limactl-limawan", installed: "1.0.0", problems: [], holdsThisBuild: true },
    rootPaths: { "state dir": "/var/db/limawan" },
    untrusted: [],
    daemon: ok({ installed: true, loaded: true, plist: "/Library/LaunchDaemons/x.plist", log: "/var/db/limawan/watch.log" }),
    instances: ok([{ instance, file: FILE, text: ok(text), compiled: compileFile({ vm: "web", file: FILE, text }), cannotRead: null }]),
    bridges: ok(new Map()),
    otherRules: ok({ anchors: new Map(), wildcards: new Map(), skipped: new Set(["lo0"]) }),
    router: null,
  };
}

const byTitle = (facts: DoctorFacts, title: string) => doctor(facts, NOW).filter((f) => f.title === title);

describe("doctor's judgement", () => {
  it("passes every check of a healthy host, in the order doctor has always printed them", () => {
    const findings = doctor(healthy(), NOW);
    expect(findings.filter((f) => f.severity !== "pass")).toEqual([]);
    expect(findings.map((f) => f.title)).toEqual(["macOS", "root", "Lima", "pf.conf anchor points", "loaded anchor points", "PF", "state", "IP forwarding", "default route", "root's copy", "root-owned paths", "watch daemon", "instance web", "WAN interfaces", "other rules"]);
    expect(doctorCheckJson(findings[2]!)).toEqual({ name: "Lima", level: "ok", detail: "limactl version 2.1.0" });
  });

  it("a limactl that cannot list is a failure that says so, not an empty list of instances", () => {
    const facts = healthy();
    facts.instances = unread(new CliError(EXIT.HOST_COMMAND, "`limactl list --json` failed", undefined, "panic"), true);
    expect(byTitle(facts, "Lima instances")).toEqual([expect.objectContaining({ severity: "fail", detail: "cannot list them: `limactl list --json` failed", cause: "host-command" })]);
    expect(byTitle(facts, "other rules")).toEqual([]); // no instance known: nothing to check them against
  });

  it("no limactl at all is said once, by the Lima check", () => {
    const facts = healthy();
    facts.lima = null;
    facts.instances = unread(new CliError(EXIT.ENVIRONMENT, "`limactl` was not found on PATH", undefined, undefined, null, "tool-missing"), false);
    const findings = doctor(facts, NOW);
    expect(findings.filter((f) => f.title.startsWith("Lima")).map(doctorCheckJson)).toEqual([{ name: "Lima", level: "fail", detail: "limactl not found on PATH", hint: "Install Lima 2.0 or newer: brew install lima" }]);
  });

  it("a damaged state file is a warning that says damaged, never that root is needed", () => {
    for (const isRoot of [true, false]) {
      const facts = { ...healthy(), isRoot };
      facts.state = unread(damagedStateError(facts.stateFile, "not JSON"), isRoot);
      const [state] = byTitle(facts, "state");
      expect(state).toMatchObject({ severity: "unknown", detail: `${facts.stateFile} is damaged (not JSON)`, cause: "state-damaged" });
      expect(state!.fix ?? "").not.toMatch(/sudo/);
      facts.state = ok({ read: { ok: false as const, reason: "not JSON", text: "{" }, kept: [] });
      expect(byTitle(facts, "state")).toEqual([expect.objectContaining({ severity: "warn", detail: `${facts.stateFile} is damaged (not JSON)` })]);
    }
  });

  it("without root: PF and the record are unknown, each saying --sudo reads them", () => {
    const facts = { ...healthy(), isRoot: false };
    const refused = new CliError(EXIT.ENVIRONMENT, "pfctl needs root", "Add --sudo: LimaWAN then asks sudo itself.", undefined, null, "needs-root");
    facts.pf = unread(refused, false);
    facts.state = unread(new CliError(EXIT.ENVIRONMENT, "cannot read state.json: EACCES", undefined, undefined, null, "needs-root"), false);
    facts.otherRules = null;
    expect(byTitle(facts, "PF")).toEqual([{ code: "pf", severity: "unknown", title: "PF", detail: "pfctl needs root", fix: "Add --sudo: LimaWAN then asks sudo itself.", cause: "needs-root" }]);
    expect(byTitle(facts, "state")[0]).toMatchObject({ severity: "unknown", fix: "`limactl limawan doctor --sudo` reads it too." });
    expect(byTitle(facts, "loaded anchor points")).toEqual([]);
    expect(doctor(facts, NOW).some((f) => f.severity === "fail")).toBe(false);
  });

  it("loaded anchor points missing: why, from the record (the watcher's pause)", () => {
    const facts = healthy();
    facts.pf = ok({ main: { translation: "", filter: "" }, enabled: true });
    facts.state = ok({ read: { ok: true as const, state: { ...emptyState(), points: { ...emptyState().points, pausedUntil: NOW + 60_000 } } }, kept: [] });
    expect(byTitle(facts, "loaded anchor points")[0]).toMatchObject({ severity: "warn", fix: expect.stringMatching(/another tool keeps removing them/) });
  });
});
