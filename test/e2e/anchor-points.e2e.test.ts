// The two anchor points and the main ruleset PF has loaded (PF-FACTS.md §4a): LimaWAN puts them
// into, and takes them out of, the ruleset as it is loaded, never by loading pf.conf — which
// would drop Internet Sharing's runtime references and with them vmnet's NAT. The watcher puts
// them back when another tool drops them, and stops when that tool keeps doing it.
import { execa } from "execa";
import { readFileSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { APPLE_PF_CONF } from "../apple-pf-conf.js";
import { createSandbox, type Sandbox, standin } from "./harness.js";
import { eventually as waitUntil, type Check } from "../eventually.js";

vi.setConfig({ testTimeout: 60_000 });

const WEB = `networks:
  - lima: shared
x-limawan: |
  interface en0
  expose http 80 as 8080
`;
const SHARING = ['nat-anchor "com.apple.internet-sharing" all', 'rdr-anchor "com.apple.internet-sharing" all', 'anchor "com.apple.internet-sharing" all', 'scrub-anchor "com.apple.internet-sharing" all fragment reassemble'];

let sb: Sandbox;
beforeEach(async () => {
  sb = await createSandbox({ env: { LIMAWAN_WATCH_INTERVAL_MS: "300" } });
});
afterEach(async () => {
  await sb.cleanup();
});

const pfctl = async (args: string[], input?: string) => (await execa(standin("pfctl"), args, { env: sb.env, reject: false, ...(input !== undefined ? { input } : {}) })).stdout;
const mainRuleset = async () => `${await pfctl(["-sn"])}\n${await pfctl(["-sr"])}`;
/** No call (from the `from`th on) loaded a whole main ruleset: only its translation (-N), filter (-R) or options (-O) part, or an anchor. */
const wholeRulesetLoads = (from = 0) => sb.pfctlCalls().slice(from).filter((c) => c.argv.includes("-f") && !["-a", "-n", "-N", "-R", "-O"].some((flag) => c.argv.includes(flag)));

const eventually = (check: Check, what: string, timeoutMs = 20_000) => waitUntil(check, what, { timeoutMs });

describe("the anchor points and what macOS inserted at run time", () => {
  it("install and uninstall keep Internet Sharing's runtime references (vmnet's NAT) in the loaded ruleset", async () => {
    sb.startInternetSharing();
    const install = await sb.run(["install"]);
    expect(install.exitCode, install.stderr).toBe(0);
    const loaded = await mainRuleset();
    for (const reference of SHARING) expect(loaded).toContain(reference);
    expect(loaded).toMatch(/^rdr-anchor "limawan" all$/m);
    expect(loaded).toMatch(/^anchor "limawan" all$/m);
    expect(readFileSync(sb.paths.pfConf, "utf8")).toMatch(/^rdr-anchor "limawan"$/m); // for the next boot
    expect(install.stderr).not.toMatch(/replaces PF's main ruleset/);

    const uninstall = await sb.run(["uninstall"]);
    expect(uninstall.exitCode, uninstall.stderr).toBe(0);
    const after = await mainRuleset();
    for (const reference of SHARING) expect(after).toContain(reference);
    expect(after).not.toMatch(/"limawan"/);
    expect(readFileSync(sb.paths.pfConf, "utf8")).not.toMatch(/limawan/);
    expect(wholeRulesetLoads()).toEqual([]);
  });

  it("up restores points a macOS update removed, into the loaded ruleset, keeping the runtime references", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    expect((await sb.run(["install"])).exitCode).toBe(0);
    // The update: a stock pf.conf, loaded at boot; then vmnet's network starts.
    writeFileSync(sb.paths.pfConf, readFileSync(sb.paths.pfConf, "utf8").replace(/# limawan: begin[^\n]*\n[^\n]*\n# limawan: end\n/g, ""));
    await execa(standin("pfctl"), ["-f", sb.paths.pfConf], { env: sb.env });
    sb.startInternetSharing();
    const callsBefore = sb.pfctlCalls().length;
    const up = await sb.run(["up", "web"]);
    expect(up.exitCode, up.stderr).toBe(0);
    const loaded = await mainRuleset();
    for (const reference of SHARING) expect(loaded).toContain(reference);
    expect(loaded).toMatch(/^rdr-anchor "limawan" all$/m);
    expect(readFileSync(sb.paths.pfConf, "utf8")).toMatch(/^anchor "limawan"$/m);
    expect(sb.pfctlCalls().slice(callsBefore).filter((c) => c.argv.includes("-f") && !c.argv.includes("-a") && !c.argv.includes("-n") && !c.argv.includes("-N") && !c.argv.includes("-R"))).toEqual([]);
  });
});

describe("the printed scrub-anchor line fed back (PF-FACTS.md §4a)", () => {
  it("up loads it bare when pfctl refuses it as printed, and says so; as printed when pfctl takes it", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    sb.startInternetSharing();
    const refused = await sb.run(["up", "web"], { env: { PFCTL_STANDIN_REJECT_SCRUB_OPTIONS: "1" } });
    expect(refused.exitCode, refused.stderr).toBe(0);
    expect(refused.stderr).toContain('pfctl refused `scrub-anchor "com.apple.internet-sharing" all fragment reassemble` as it printed it; loaded it as `scrub-anchor "com.apple.internet-sharing" all`');
    const loaded = await mainRuleset();
    for (const reference of SHARING) expect(loaded).toContain(reference); // printed with its (default) reassembly again
    expect(loaded).toMatch(/^anchor "limawan" all$/m);

    // The points gone again (a stock ruleset loaded, vmnet's network restarted); this pfctl takes the printed form.
    await pfctl(["-f", "-"], APPLE_PF_CONF);
    sb.startInternetSharing();
    expect(await mainRuleset()).not.toMatch(/"limawan"/);
    const taken = await sb.run(["up", "web", "--verbose"]);
    expect(taken.exitCode, taken.stderr).toBe(0);
    expect(taken.stderr).not.toMatch(/pfctl refused/);
    expect(taken.stderr).toMatch(/^loaded the main ruleset's filter rules as pfctl printed them$/m);
    expect(await mainRuleset()).toMatch(/^anchor "limawan" all$/m);
  });
});

describe("the watcher and another tool's ruleset", () => {
  it("puts the points back when another tool drops them; when it keeps doing so, pauses and says so once", async () => {
    await sb.addInstance("web", WEB);
    expect((await sb.run(["install"])).exitCode).toBe(0);
    let log = "";
    sb.runBackground(["watch"]).stderr?.on("data", (d: Buffer) => (log += d.toString()));
    await sb.startVm("web");
    await eventually(async () => /8080/.test(await pfctl(["-a", "limawan", "-sn"])), "web forwarded");
    // A VPN client loading its own main ruleset, without our points (and without Apple's).
    const vpn = "nat on utun3 all -> (utun3)\npass out quick on utun3 all\n";
    for (let round = 1; round <= 3; round++) {
      await pfctl(["-f", "-"], vpn);
      await eventually(async () => /rdr-anchor "limawan"/.test(await pfctl(["-sn"])), `the points back (round ${round})`);
    }
    await eventually(() => (log.match(/were missing from PF's loaded ruleset .* put them back/g) ?? []).length === 3, "three restores logged");
    expect(await pfctl(["-sn"])).toMatch(/nat on utun3/); // the VPN's rules stay
    await pfctl(["-f", "-"], vpn);
    await eventually(() => /another tool keeps replacing PF's main ruleset/.test(log), "the fight reported");
    await new Promise((r) => setTimeout(r, 1_500)); // several more periodic runs
    expect(await pfctl(["-sn"])).not.toMatch(/rdr-anchor "limawan"/);
    expect(log.match(/another tool keeps replacing/g)).toHaveLength(1);
    const status = await sb.run(["status"]);
    expect(status.stdout).toMatch(/anchor points: missing/);
    expect(status.stdout).toMatch(/another tool keeps removing them/);
  });
});

describe("PF's interface skip flags, which every main-ruleset load clears (PF-FACTS.md §4b)", () => {
  /** The interfaces `pfctl -s Interfaces -v` marks `(skip)`. */
  const skipped = async () => (await pfctl(["-s", "Interfaces", "-v"])).split("\n").filter((l) => l.endsWith(" (skip)")).map((l) => l.split(" ")[0]);
  /** A pf.conf that skips the loopback, as guides suggest, loaded at boot: no LimaWAN points in it. */
  const bootWithSkip = async () => {
    await pfctl(["-f", "-"], `set skip on lo0\n${APPLE_PF_CONF}`);
    expect(await skipped()).toEqual(["lo0"]);
  };

  it("up puts its anchor points into the loaded ruleset and lo0 stays skipped", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    await bootWithSkip();
    const callsBefore = sb.pfctlCalls().length;
    const up = await sb.run(["up", "web", "--verbose"]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await mainRuleset()).toMatch(/^rdr-anchor "limawan" all$/m);
    expect(await skipped()).toEqual(["lo0"]);
    expect(up.stderr).toMatch(/interface skip flags back .*: set skip on lo0$/m);
    expect(wholeRulesetLoads(callsBefore)).toEqual([]);
  });

  it("install and uninstall keep them too; a load pfctl refuses gives them back before up fails", async () => {
    await bootWithSkip();
    expect((await sb.run(["install"])).exitCode).toBe(0);
    expect(await skipped()).toEqual(["lo0"]);
    expect((await sb.run(["uninstall"])).exitCode).toBe(0);
    expect(await skipped()).toEqual(["lo0"]);

    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    const up = await sb.run(["up", "web"], { env: { PFCTL_STANDIN_FAIL: "-R -f -", PFCTL_STANDIN_FAIL_MESSAGE: "pfctl: DIOCXCOMMIT: Device busy" } });
    expect(up.exitCode).not.toBe(0);
    expect(up.stderr).toMatch(/could not load the main ruleset's filter rules/);
    expect(await mainRuleset()).not.toMatch(/"limawan"/); // the translation part was put back
    expect(await skipped()).toEqual(["lo0"]);
  });
});
