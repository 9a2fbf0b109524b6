// The Pfctl adapter works on the anchor it is given, `limawan` unless told otherwise: the darwin
// suite gives it a test anchor and must never reach a user's forwards. Run against the pfctl
// stand-in, and judged by what PF ends up holding.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Pfctl } from "../../plugin/host/pfctl.js";
import { createRunner, SYSTEM_PROGRAMS } from "../../plugin/host/run.js";
import { standinServer } from "../e2e/harness.js";

const STANDIN_BIN = fileURLToPath(new URL("../standins/bin", import.meta.url));
const LIMA_PF = readFileSync(new URL("../golden/lima.pf", import.meta.url), "utf8");

let dir: string;
let env: NodeJS.ProcessEnv;
// pfctl's calls go to the stand-in server (test/standins/README.md), not a node start each.
let server: string;
beforeAll(async () => {
  server = await standinServer();
});
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "limawan-pfctl-anchor-"));
  env = { PATH: process.env.PATH, PFCTL_STANDIN_STATE: path.join(dir, "pf.json"), PFCTL_STANDIN_ALLOW_USER: "1", MACOS_STANDIN_SERVER: server };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// In process, the adapter is handed the stand-in where the CLI would run /sbin/pfctl.
const programs = { ...SYSTEM_PROGRAMS, pfctl: path.join(STANDIN_BIN, "pfctl") };
const pfctlFor = (anchor?: string) => new Pfctl(createRunner({ env, user: null, limaHome: dir, dryRun: false, report: () => undefined, programs }), anchor);
const show = (...args: string[]) => execFileSync(programs.pfctl, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
/** An anchor nothing refers to and that holds nothing does not exist: pfctl cannot list it (and still exits 0). */
const absent = (anchor: string) => {
  const r = spawnSync(programs.pfctl, ["-a", anchor, "-sr"], { env, encoding: "utf8" });
  return r.status === 0 && r.stdout === "" && /DIOCGETRULES: Invalid argument/.test(r.stderr);
};

describe("Pfctl's anchor", () => {
  it("is `limawan` by default", () => {
    expect(pfctlFor().anchor).toBe("limawan");
  });

  it("loads, reads and empties only the anchor it was given", async () => {
    const test = pfctlFor("limawan-test-7");
    await test.checkAnchor(LIMA_PF);
    await test.loadAnchor(LIMA_PF);
    expect([...(await test.labels()).keys()]).toContain("limawan:web:ssh");
    expect((await test.counters()).get("limawan:web:ssh")).toEqual({ evaluations: 0, packets: 0, bytes: 0, states: 0 });
    expect(await test.tableEntries("lw_web_admin_src")).toEqual(["198.51.100.7", "203.0.113.0/24"]);
    expect(show("-a", "limawan-test-7", "-sn")).toMatch(/tag lw_web_ssh/);
    expect(absent("limawan")).toBe(true);
    expect((await pfctlFor().labels()).size).toBe(0);

    await test.killTable("lw_web_ssh_ban");
    await test.killTable("lw_web_ssh_ban"); // already gone: nothing to do
    expect(show("-a", "limawan-test-7", "-s", "Tables")).toBe("lw_web_admin_src\n");
    await test.flushAnchor();
    expect(absent("limawan-test-7")).toBe(true); // emptied, and nothing refers to it
  });

  it("reads no counters or rules from an anchor the kernel does not have (DIOCGETRULES), whatever pfctl's exit status", async () => {
    expect(absent("limawan")).toBe(true);
    const nothing = async () => {
      expect((await pfctlFor().labels()).size).toBe(0);
      expect((await pfctlFor().counters()).size).toBe(0);
      expect(await pfctlFor().anchorRules("limawan")).toEqual({ translation: "", filter: "" });
    };
    await nothing(); // exit 0, as pfctl's main() ignores the listing's result
    // A pfctl that did exit 1 on it (what this project once assumed) reads the same.
    env.PFCTL_STANDIN_FAIL_MESSAGE = "pfctl: DIOCGETRULES: Invalid argument";
    env.PFCTL_STANDIN_FAIL = "-a limawan -s labels";
    expect((await pfctlFor().labels()).size).toBe(0);
    env.PFCTL_STANDIN_FAIL = "-a limawan -v -s rules";
    expect((await pfctlFor().counters()).size).toBe(0);
    env.PFCTL_STANDIN_FAIL = "-a limawan -s nat";
    expect((await pfctlFor().anchorRules("limawan")).translation).toBe("");
  });

  it("looks for its own anchor points in the main ruleset, and replaces one part of it alone (-N, -R)", async () => {
    await pfctlFor().replaceMainPart("translation", 'rdr-anchor "limawan-test-7" all\n');
    expect(await pfctlFor("limawan-test-7").loadedAnchorPoints()).toEqual({ rdr: true, filter: false });
    await pfctlFor().replaceMainPart("filter", 'anchor "limawan-test-7" all\n');
    expect(await pfctlFor("limawan-test-7").loadedAnchorPoints()).toEqual({ rdr: true, filter: true });
    expect(await pfctlFor().loadedAnchorPoints()).toEqual({ rdr: false, filter: false });
    expect((await pfctlFor().loadedMainRuleset()).translation).toBe('rdr-anchor "limawan-test-7" all\n'); // the translation part alone replaced
    await expect(pfctlFor().replaceMainPart("filter", "pass in on en0 rdr-to 10.0.0.1\n")).rejects.toThrow(/rejects the main ruleset's filter rules/);
  });

  it("loads a printed scrub-anchor line bare where pfctl refuses it as printed, saying so; as printed where pfctl takes it", async () => {
    const printed = 'scrub-anchor "com.apple.internet-sharing" all fragment reassemble\nanchor "com.apple/*" all\n';
    expect(await pfctlFor().replaceMainPart("filter", printed)).toEqual({ bared: [] });
    env.PFCTL_STANDIN_REJECT_SCRUB_OPTIONS = "1";
    expect(await pfctlFor().replaceMainPart("filter", printed)).toEqual({
      bared: [{ printed: 'scrub-anchor "com.apple.internet-sharing" all fragment reassemble', bare: 'scrub-anchor "com.apple.internet-sharing" all' }],
    });
    expect(show("-sr")).toBe(printed); // pfctl prints the default reassembly back
    // Refused in either form: pfctl's own words about the text as printed.
    await expect(pfctlFor().replaceMainPart("filter", `${printed}pass in on en0 rdr-to 10.0.0.1\n`)).rejects.toThrow(/rejects the main ruleset's filter rules/);
  });

  it("loads options alone and merged (-m -O): skip flags back after a part's load cleared them", async () => {
    await pfctlFor().replaceMainPart("filter", 'anchor "com.apple/*" all\n');
    await pfctlFor().loadOptions("set skip on { lo0 en1 }");
    expect([...(await pfctlFor().skippedInterfaces())]).toEqual(["lo0", "en1"]);
    expect(show("-sr")).toBe('anchor "com.apple/*" all\n');
    await pfctlFor().replaceMainPart("translation", 'rdr-anchor "com.apple/*" all\n');
    expect((await pfctlFor().skippedInterfaces()).size).toBe(0);
    await expect(pfctlFor().loadOptions("set skip on { }")).rejects.toThrow(/rejects the options/);
  });
});
