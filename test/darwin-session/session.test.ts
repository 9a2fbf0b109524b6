// The darwin suite's PF session (test/darwin/session.mjs, run.mjs) on Linux, against the pfctl
// and ifconfig stand-ins: what it refuses, what it loads, and that it puts PF back as it found
// it — after passing tests, failing tests and a SIGINT. The real-PF tests themselves run only
// on a Mac (`npm run test:darwin`); this is the part that must be right before anyone does.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { insertAnchorPoints } from "../../compiler/pf/pf-conf-edit.js";
import { APPLE_PF_CONF } from "../apple-pf-conf.js";
import { asUserReachingCheckout, standinServer } from "../e2e/harness.js";
import { composeMain, DEFAULT_FIRST_CLIENT_PORT, differences, openSession, parseSkipped, readLoadedState, Refused, refusals, sessionNames, skipOption, testPorts, type LoadedState, type Output, type SessionHost } from "../darwin/session.mjs";

const STANDIN_BIN = fileURLToPath(new URL("../standins/bin", import.meta.url));
const RUN = fileURLToPath(new URL("../darwin/run.mjs", import.meta.url));

// A session makes dozens of stand-in calls; ifconfig's each start node.
vi.setConfig({ testTimeout: 60_000 });

let dir: string;
let env: NodeJS.ProcessEnv;
// pfctl calls go to the stand-in server, as in the e2e tests (ifconfig's still start node).
let server: string;
beforeAll(async () => {
  server = await standinServer();
});
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "limawan-darwin-session-"));
  env = {
    ...process.env,
    PATH: `${STANDIN_BIN}${path.delimiter}${process.env.PATH}`,
    PFCTL_STANDIN_STATE: path.join(dir, "pf.json"),
    MACOS_STANDIN_SERVER: server,
    IFCONFIG_STANDIN_STATE: path.join(dir, "ifconfig.json"),
    SYSCTL_STANDIN_STATE: path.join(dir, "sysctl.json"),
    TMPDIR: dir,
  };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const tool =
  (program: string) =>
  (args: string[], input?: string): Output => {
    const r = spawnSync(program, args, { input, encoding: "utf8", env });
    return { exitCode: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
const host = (): SessionHost => ({ pfctl: tool("pfctl"), ifconfig: tool("ifconfig"), sysctl: tool("sysctl") });
const loaded = (): LoadedState => readLoadedState(tool("pfctl"));

/** Load a main ruleset into the stand-in, as a boot or a service would have. */
function loadMain(text: string): void {
  const file = path.join(dir, "main.conf");
  writeFileSync(file, text);
  expect(tool("pfctl")(["-f", file]).exitCode).toBe(0);
}

/** Apple's ruleset with the four references Internet Sharing adds after each kind's rules (PF-FACTS.md §4a). */
const INTERNET_SHARING = [
  'scrub-anchor "com.apple/*"',
  'scrub-anchor "com.apple.internet-sharing"',
  'nat-anchor "com.apple/*"',
  'rdr-anchor "com.apple/*"',
  'nat-anchor "com.apple.internet-sharing"',
  'rdr-anchor "com.apple.internet-sharing"',
  'dummynet-anchor "com.apple/*"',
  'anchor "com.apple/*"',
  'anchor "com.apple.internet-sharing"',
  "",
].join("\n");

function loadedApple(): LoadedState {
  return {
    nat: 'nat-anchor "com.apple/*" all\nrdr-anchor "com.apple/*" all\n',
    rules: 'scrub-anchor "com.apple/*" all fragment reassemble\nanchor "com.apple/*" all\n',
    dummynet: 'dummynet-anchor "com.apple/*" all\n',
    skip: [],
    tokens: [],
    enabled: false,
    limawan: { nat: "", rules: "", tables: "" },
  };
}

describe("what the session refuses (pure)", () => {
  it("starts on Apple's ruleset, and with LimaWAN's anchor points loaded but empty", () => {
    expect(refusals(loadedApple(), APPLE_PF_CONF)).toEqual([]);
    const inserted = insertAnchorPoints(APPLE_PF_CONF);
    if (!inserted.ok) throw new Error(inserted.reason);
    const withPoints = { ...loadedApple(), nat: `${loadedApple().nat}rdr-anchor "limawan" all\n`, rules: `${loadedApple().rules}anchor "limawan" all\n` };
    expect(refusals(withPoints, inserted.text)).toEqual([]);
  });

  it("refuses while the limawan anchor holds rules: live forwards", () => {
    const live = { ...loadedApple(), limawan: { nat: "rdr on en0 inet proto tcp from any to (en0) port = 2222 tag lw_web_ssh -> 192.168.105.2 port 22\n", rules: "", tables: "" } };
    expect(refusals(live, APPLE_PF_CONF)).toEqual([expect.stringMatching(/the `limawan` anchor holds rules.*limactl limawan down --all/)]);
  });

  it("refuses runtime anchors /etc/pf.conf does not declare (Internet Sharing), unless told to accept them", () => {
    const sharing = { ...loadedApple(), nat: `${loadedApple().nat}nat-anchor "com.apple.internet-sharing" all\n` };
    expect(refusals(sharing, APPLE_PF_CONF)).toEqual([expect.stringMatching(/com\.apple\.internet-sharing.*LIMAWAN_DARWIN_ACCEPT_RUNTIME_RULES=1/s)]);
    expect(refusals(sharing, APPLE_PF_CONF, { acceptRuntimeRules: true })).toEqual([]);
    const rule = { ...loadedApple(), rules: `${loadedApple().rules}block drop in quick on en0 all\n` };
    expect(refusals(rule, APPLE_PF_CONF)).toHaveLength(1);
  });

  it("refuses while another run's test anchor point is loaded", () => {
    const leftover = { ...loadedApple(), rules: `${loadedApple().rules}anchor "limawan-test-41" all\n` };
    expect(refusals(leftover, APPLE_PF_CONF, { acceptRuntimeRules: true })).toEqual([expect.stringMatching(/test anchor point is loaded.*pfctl -m -f/)]);
  });

  it("composes the loaded ruleset in pfctl's order, anchor points as pf.conf writes them, its own after each kind's", () => {
    expect(composeMain(loadedApple(), sessionNames(7))).toBe(
      [
        'scrub-anchor "com.apple/*"',
        'nat-anchor "com.apple/*"',
        'rdr-anchor "com.apple/*"',
        'rdr-anchor "limawan-test-7"',
        'dummynet-anchor "com.apple/*"',
        'anchor "com.apple/*"',
        'anchor "limawan-test-7"',
        'anchor "limawan-test-7-block"',
        "",
      ].join("\n"),
    );
  });

  it("carries the skip flags found as an option, first: all of them to restore, all but lo0's for the tests", () => {
    const skipping = { ...loadedApple(), skip: ["en1", "lo0"] };
    expect(composeMain(skipping, null).split("\n")[0]).toBe("set skip on { en1 lo0 }");
    expect(composeMain(skipping, sessionNames(7)).split("\n")[0]).toBe("set skip on { en1 }");
    expect(composeMain({ ...loadedApple(), skip: ["lo0"] }, sessionNames(7))).toBe(composeMain(loadedApple(), sessionNames(7)));
    expect(composeMain(loadedApple(), null)).not.toMatch(/^set /m);
  });

  it("reads the skip flags from -s Interfaces -v, and writes back only names an interface can have", () => {
    expect(parseSkipped("lo0 (skip)\nen0\nbridge100 (skip)\nen1\n")).toEqual(["bridge100", "lo0"]);
    expect(parseSkipped("lo0\nen0\n")).toEqual([]);
    expect(skipOption([])).toEqual([]);
    expect(skipOption(["en1", "utun3"])).toEqual(["set skip on { en1 utun3 }"]);
    expect(() => skipOption(["en0 }\npass all"])).toThrow(/cannot be written back/);
  });

  it("takes test ports below the first port the kernel gives clients, or below macOS's default when sysctl cannot say", () => {
    const ok = (stdout: string) => ({ exitCode: 0, stdout, stderr: "" });
    expect(testPorts(ok("49152\n"))).toEqual({ low: 32768, high: 49151, why: expect.stringMatching(/below net\.inet\.ip\.portrange\.first \(49152\)/) });
    expect(testPorts(ok("10000\n"))).toMatchObject({ low: 1024, high: 9999 });
    expect(DEFAULT_FIRST_CLIENT_PORT).toBe(49152);
    const unknown = testPorts({ exitCode: 1, stdout: "", stderr: "sysctl: unknown oid 'net.inet.ip.portrange.first'" });
    expect(unknown).toEqual({ low: 32768, high: 49151, why: expect.stringMatching(/macOS's default.*unknown oid/) });
    for (const printed of ["", "65536", "4x", "-1"]) expect(testPorts(ok(printed))).toMatchObject({ low: 32768, high: 49151 });
    expect(() => testPorts(ok("2000"))).toThrow(/leaves fewer than 1024/);
  });

  it("names every difference from the state it started from", () => {
    const after = { ...loadedApple(), tokens: ["18446743525445205896"], enabled: true, rules: 'anchor "com.apple/*" all\n' };
    expect(differences(loadedApple(), after)).toEqual([
      expect.stringMatching(/^main ruleset's filter rules/),
      "PF enable references held now and not before: 18446743525445205896",
      "PF was disabled and is now enabled",
    ]);
    expect(differences(loadedApple(), loadedApple())).toEqual([]);
    expect(differences({ ...loadedApple(), skip: ["lo0"] }, loadedApple())).toEqual(["interfaces PF skips (pfctl -s Interfaces -v) differ: before lo0, after none"]);
  });
});

describe("a session against the stand-ins", () => {
  it("loads its anchor points and lo0 aliases, then puts PF back exactly, releasing a reference a test left held", () => {
    const before = loaded();
    const session = openSession({ host: host(), dir, pid: 7, pfConf: APPLE_PF_CONF });
    expect(session.ports).toMatchObject({ low: 32768, high: 49151 }); // the stand-in's sysctl says 49152
    const during = loaded();
    expect(during.nat).toBe(`${before.nat}rdr-anchor "limawan-test-7" all\n`);
    expect(during.rules).toBe(`${before.rules}anchor "limawan-test-7" all\nanchor "limawan-test-7-block" all\n`);
    expect(tool("ifconfig")(["lo0"]).stdout).toMatch(/inet 127\.77\.0\.11 .*\n(.*\n)*\tinet 127\.77\.0\.16 /);

    // What a test does: load its anchor, take a reference (recorded), and crash holding it.
    expect(tool("pfctl")(["-a", "limawan-test-7", "-f", "-"], 'pass in quick on lo0 inet proto tcp from any to 127.0.0.1 port 9 keep state label "x"\n').exitCode).toBe(0);
    const token = /Token : (\d+)/.exec(tool("pfctl")(["-E"]).stderr)![1]!;
    writeFileSync(session.tokenFile, `${token}\n`);

    expect(session.close()).toEqual([]);
    expect(loaded()).toEqual(before);
    expect(tool("pfctl")(["-a", "limawan-test-7", "-sr"]).stdout).toBe("");
    expect(tool("ifconfig")(["lo0"]).stdout).not.toMatch(/127\.77/);
    expect(session.close()).toEqual([]); // a second close (signal after finally) does nothing
  });

  it("keeps the skip flags it found: lo0 filtered while the tests run, the others kept, all of them back after — even when a test's main-ruleset load cleared them", () => {
    loadMain(`set skip on { lo0 en1 }\n${APPLE_PF_CONF}`);
    const before = loaded();
    expect(before.skip).toEqual(["en1", "lo0"]); // the premise: the stand-in sets them from a load
    const logged: string[] = [];
    const session = openSession({ host: host(), dir, pid: 7, pfConf: APPLE_PF_CONF, log: (l) => logged.push(l) });
    expect(loaded().skip).toEqual(["en1"]);
    expect(logged).toContainEqual(expect.stringMatching(/PF skips lo0 on this Mac.*skipped again after/));
    expect(readFileSync(session.baseFile, "utf8")).toMatch(/^set skip on \{ en1 lo0 \}\n/);

    // What anchor-points.test.ts does: a -N load of the main ruleset, which clears every flag.
    expect(tool("pfctl")(["-N", "-f", "-"], loaded().nat).exitCode).toBe(0);
    expect(loaded().skip).toEqual([]);

    expect(session.close()).toEqual([]);
    expect(loaded()).toEqual(before);
  });

  it("reports skip flags it could not put back", () => {
    loadMain(`set skip on en1\n${APPLE_PF_CONF}`);
    const session = openSession({ host: host(), dir, pid: 7, pfConf: APPLE_PF_CONF });
    // A restore file without its `set skip` (the session as it was before issue 20): the read-back must see it.
    const restore = readFileSync(session.baseFile, "utf8");
    writeFileSync(session.baseFile, restore.replace(/^set skip .*\n/, ""));
    expect(session.close()).toEqual(["interfaces PF skips (pfctl -s Interfaces -v) differ: before en1, after none"]);
  });

  it("refuses Internet Sharing's runtime anchors and changes nothing", () => {
    loadMain(INTERNET_SHARING);
    const before = readFileSync(path.join(dir, "pf.json"), "utf8");
    expect(() => openSession({ host: host(), dir, pid: 7, pfConf: APPLE_PF_CONF })).toThrow(Refused);
    expect(readFileSync(path.join(dir, "pf.json"), "utf8")).toBe(before);
    expect(tool("ifconfig")(["lo0"]).stdout).not.toMatch(/127\.77/);
  });

  it("with LIMAWAN_DARWIN_ACCEPT_RUNTIME_RULES, loads them back as they were printed", () => {
    loadMain(INTERNET_SHARING);
    const before = loaded();
    const session = openSession({ host: host(), dir, pid: 7, pfConf: APPLE_PF_CONF, acceptRuntimeRules: true });
    expect(session.close()).toEqual([]);
    expect(loaded()).toEqual(before);
  });

  it("refuses, changing nothing, when the Mac leaves no room for test ports below its client ports", () => {
    writeFileSync(path.join(dir, "sysctl.json"), JSON.stringify({ "net.inet.ip.portrange.first": "1500" }));
    const before = loaded();
    expect(() => openSession({ host: host(), dir, pid: 7, pfConf: APPLE_PF_CONF })).toThrow(/portrange\.first is 1500/);
    expect(loaded()).toEqual(before);
  });

  it("refuses when lo0 already has one of its client addresses", () => {
    expect(tool("ifconfig")(["lo0", "alias", "127.77.0.13", "up"]).exitCode).toBe(0);
    expect(() => openSession({ host: host(), dir, pid: 7, pfConf: APPLE_PF_CONF })).toThrow(/lo0 already has 127\.77\.0\.13/);
  });

  it("reports what it could not put back: a reference someone else took meanwhile", () => {
    const session = openSession({ host: host(), dir, pid: 7, pfConf: APPLE_PF_CONF });
    tool("pfctl")(["-E"]);
    expect(session.close()).toEqual([expect.stringMatching(/references held now and not before/), "PF was disabled and is now enabled"]);
  });
});

describe("npm run test:darwin (run.mjs)", () => {
  const runEnv = (extra: Record<string, string> = {}) => ({ ...env, LIMAWAN_PLATFORM: "darwin", LIMAWAN_PF_CONF: path.join(dir, "pf.conf"), ...extra });
  beforeEach(() => writeFileSync(path.join(dir, "pf.conf"), APPLE_PF_CONF));

  /** A stand-in for the vitest run: does what a test does, then exits with `code` or waits. */
  function fakeTests(code: number | "wait"): string {
    const script = path.join(dir, "fake-tests.mjs");
    writeFileSync(
      script,
      `import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
const session = JSON.parse(readFileSync(process.env.LIMAWAN_DARWIN_SESSION, "utf8"));
execFileSync("pfctl", ["-a", session.anchor, "-f", "-"], { input: 'pass in quick on lo0 inet proto tcp to 127.0.0.1 port 9 keep state label "x"\\n', stdio: ["pipe", "ignore", "ignore"] });
const token = /Token : (\\d+)/.exec(spawnSync("pfctl", ["-E"], { encoding: "utf8" }).stderr)[1];
appendFileSync(session.tokenFile, token + "\\n");
writeFileSync(process.env.FAKE_READY, JSON.stringify({ ...session, evidence: process.env.LIMAWAN_EVIDENCE_DIR ?? null }));
${code === "wait" ? "setInterval(() => undefined, 1000);" : `process.exit(${code});`}
`,
    );
    return JSON.stringify([process.execPath, script]);
  }

  function runOnce(extra: Record<string, string>): { status: number | null; stderr: string } {
    const r = spawnSync(process.execPath, [RUN], { env: runEnv(extra), encoding: "utf8" });
    return { status: r.status, stderr: r.stderr };
  }

  it("fails, not skips, off macOS, and without pfctl", () => {
    const linux = runOnce({ LIMAWAN_PLATFORM: "linux" });
    expect(linux.status).toBe(1);
    expect(linux.stderr).toMatch(/test:darwin: needs macOS.*this is linux/);
    const noPfctl = runOnce({ PATH: path.dirname(process.execPath) });
    expect(noPfctl.status).toBe(1);
    expect(noPfctl.stderr).toMatch(/`pfctl` is not on PATH/);
  });

  it.runIf(process.getuid?.() === 0)("fails without root", () => {
    // As uid 65534, where it reaches the checkout even when that is private (a clone in /root).
    const [file, ...args] = asUserReachingCheckout([process.execPath, RUN], { uid: 65534, gid: 65534 });
    const r = spawnSync(file!, args, { env: runEnv(), encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/needs root.*sudo -E/);
  });

  it.each([
    [0, 0],
    [1, 1],
  ])("tests exiting %i: run exits %i, PF put back, its directory gone", (code, status) => {
    const before = loaded();
    const r = runOnce({ LIMAWAN_DARWIN_TEST_COMMAND: fakeTests(code), FAKE_READY: path.join(dir, "ready.json") });
    expect([r.status, r.stderr]).toEqual([status, expect.stringMatching(/test ports: 32768–49151, below net\.inet\.ip\.portrange\.first[^]*PF restored/)]);
    expect(JSON.parse(readFileSync(path.join(dir, "ready.json"), "utf8")).ports).toMatchObject({ low: 32768, high: 49151 });
    expect(loaded()).toEqual(before);
    expect(readdirSync(dir).filter((f) => f.startsWith("limawan-darwin-"))).toEqual([]);
    expect(tool("ifconfig")(["lo0"]).stdout).not.toMatch(/127\.77/);
  });

  it("a recording run leaves, red as green, host dumps from before and after, its log, and the tests an evidence directory", () => {
    const evidence = path.join(dir, "evidence");
    const ready = path.join(dir, "ready.json");
    const r = runOnce({ LIMAWAN_DARWIN_TEST_COMMAND: fakeTests(1), FAKE_READY: ready, LIMAWAN_RECORD_FIXTURES: "1", LIMAWAN_EVIDENCE_DIR: evidence });
    expect(r.status).toBe(1);
    expect(JSON.parse(readFileSync(ready, "utf8")).evidence).toBe(evidence);
    const before = readFileSync(path.join(evidence, "host-before.txt"), "utf8");
    const after = readFileSync(path.join(evidence, "host-after.txt"), "utf8");
    for (const dump of [before, after]) {
      // Every section is there with its exit status, whatever is missing here (sw_vers on Linux).
      for (const command of ["sw_vers", "uname -a", "pfctl -s References", "pfctl -s Interfaces -v", "pfctl -sa", "ifconfig lo0", "sysctl net.inet.ip.portrange.first", "cat "]) {
        expect(dump).toMatch(new RegExp(`^===== ${command.replace(/[.]/g, "\\.")}.*\n[^]*?^----- exit \\d+$`, "m"));
      }
      expect(dump).toMatch(/^===== pfctl -s Interfaces -v\nlo0\n/m); // the stand-in's, from PATH
      expect(dump).toContain(APPLE_PF_CONF); // LIMAWAN_PF_CONF's
    }
    // The dumps bracket the session: its lo0 aliases are on neither side.
    expect(before + after).not.toMatch(/127\.77\./);
    expect(readFileSync(path.join(evidence, "run.log"), "utf8")).toMatch(/test ports: [^]*PF restored[^]*evidence in /);
  });

  it("SIGINT while the tests run: stops them, puts PF back, exits 130", async () => {
    const before = loaded();
    const ready = path.join(dir, "ready.json");
    const child = spawn(process.execPath, [RUN], { env: runEnv({ LIMAWAN_DARWIN_TEST_COMMAND: fakeTests("wait"), FAKE_READY: ready }), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const deadline = Date.now() + 20_000;
    while (!existsSync(ready) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(loaded().nat).toMatch(/limawan-test-/);
    child.kill("SIGINT"); // the parent only: it must stop the tests itself
    const status = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect([status, stderr]).toEqual([130, expect.stringMatching(/SIGINT: stopping the tests, then restoring PF[^]*PF restored/)]);
    expect(loaded()).toEqual(before);
    expect(tool("ifconfig")(["lo0"]).stdout).not.toMatch(/127\.77/);
  }, 30_000);
});
