// `monitor`: the security view over what PF holds, against a scripted sequence of PF states
// (connection states and bans put into the pfctl stand-in as the kernel would hold them).
import { execa } from "execa";
import { chownSync, readFileSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CLI, createSandbox, ptyScriptArgs, type Sandbox, standin } from "./harness.js";
import { eventually as waitUntil, type Check } from "../eventually.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const WEB = `networks:
  - lima: shared
x-limawan: |
  interface en0
  expose ssh 22 as 2222 limit 5/30s
  expose http 80 as 8080
`;
const BAN = "lw_web_ssh_ban";

let sb: Sandbox;
beforeEach(async () => {
  sb = await createSandbox();
  await sb.addInstance("web", WEB);
  await sb.startVm("web");
  expect((await sb.run(["up", "web"])).exitCode).toBe(0);
});
afterEach(async () => {
  await sb.cleanup();
});

const pfctl = (args: string[]) => execa(standin("pfctl"), args, { env: sb.env, reject: false });
/** How many snapshots a monitor has taken: each lists PF's states once (monitor-snapshot.ts). */
const snapshots = () => sb.pfctlCalls().filter((c) => c.argv.includes("-s") && c.argv.includes("state")).length;
const address = () => sb.leasedAddress("web")!;
/** PF's state table holding these inbound connections to the VM (remote address, guest port). */
function connections(list: Array<[string, number]>): void {
  sb.editPfState((state) => {
    state.states = list.map(([remote, port], i) => ({ proto: "tcp", lan: `${address()}:${port}`, gwy: `203.0.113.10:${port === 22 ? 2222 : 8080}`, ext: `${remote}:${40000 + i}` }));
  });
}
interface Watch { forward: string; states: number; topSources: Array<{ address: string; states: number }>; banned: Array<{ address: string; ageSeconds: number | null }>; packets: number | null; loaded: boolean }
const snapshot = async () => JSON.parse((await sb.run(["monitor", "--json"])).stdout) as { forwards: Watch[] };

const eventually = (check: Check, what: string, timeoutMs = 20_000) => waitUntil(check, what, { timeoutMs });

describe("monitor", () => {
  it("shows per forward its live states and top sources, counters, and each ban with its age", async () => {
    connections([["198.51.100.7", 22], ["198.51.100.7", 22], ["198.51.100.9", 22], ["198.51.100.9", 80]]);
    await pfctl(["-a", "limawan", "-t", BAN, "-T", "add", "198.51.100.66"]);
    const forwards = (await snapshot()).forwards;
    const ssh = forwards.find((f) => f.forward === "ssh")!;
    expect(ssh).toMatchObject({ loaded: true, states: 3, topSources: [{ address: "198.51.100.7", states: 2 }, { address: "198.51.100.9", states: 1 }], banned: [{ address: "198.51.100.66" }] });
    expect(ssh.banned[0]!.ageSeconds).toBeLessThan(60);
    expect(forwards.find((f) => f.forward === "http")).toMatchObject({ states: 1, banned: [] });
    const text = await sb.run(["monitor"]);
    expect(text.stdout).toMatch(/^web\/ssh {2}tcp 2222 -> 192\.168\.105\.\d+:22 {2}loaded {2}packets \d+ {2}bytes \d+ {2}states 3$/m);
    expect(text.stdout).toMatch(/^ {2}top sources: 198\.51\.100\.7 \(2\), 198\.51\.100\.9 \(1\)$/m);
    expect(text.stdout).toMatch(/^ {2}banned \(1\): 198\.51\.100\.66 \d+s ago$/m);
  });

  it("--follow, piped, prints one JSON line per event and runs --alert-cmd for bans and forwards that stop", async () => {
    // Root runs the alert command as the user who ran monitor (the sandbox's SUDO_USER): only
    // they can write these files.
    const alerts = `${sb.paths.root}/alerts.jsonl`;
    const who = `${sb.paths.root}/alert-uid`;
    const user = sb.vmUser ?? { uid: process.getuid!(), gid: process.getgid!() };
    for (const file of [alerts, who]) {
      writeFileSync(file, "", { mode: 0o600 });
      chownSync(file, user.uid, user.gid);
    }
    const taken = snapshots();
    const follow = sb.runBackground(["monitor", "--follow", "--interval", "0.3", "--alert-cmd", `cat >> ${alerts}; id -u > ${who}`]);
    let out = "";
    follow.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    await eventually(() => snapshots() >= taken + 3, "a first snapshot and two more"); // nothing changed: no events
    expect(out).toBe("");
    await pfctl(["-a", "limawan", "-t", BAN, "-T", "add", "198.51.100.66"]);
    await eventually(() => /"event":"banned"/.test(out), "the ban reported");
    await pfctl(["-a", "limawan", "-t", BAN, "-T", "delete", "198.51.100.66"]);
    await eventually(() => /"event":"unbanned"/.test(out), "the lifted ban reported");
    expect((await sb.run(["down", "web"])).exitCode).toBe(0);
    await eventually(() => (out.match(/"event":"forward-down"/g) ?? []).length === 2, "both forwards reported down");
    const events = out.trim().split("\n").map((l) => JSON.parse(l) as { event: string; forward: string; address?: string });
    expect(events.map((e) => [e.event, e.forward, e.address ?? ""])).toEqual([
      ["banned", "ssh", "198.51.100.66"],
      ["unbanned", "ssh", "198.51.100.66"],
      ["forward-down", "ssh", ""],
      ["forward-down", "http", ""],
    ]);
    await eventually(() => readFileSync(alerts, "utf8").trim().split("\n").length === 3, "three alerts: the ban and two forwards down");
    expect(readFileSync(alerts, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(["banned", "forward-down", "forward-down"]);
    expect(readFileSync(who, "utf8").trim()).toBe(String(user.uid));
  });

  it("--follow on a terminal redraws one frame in place each interval, and prints no JSON", async () => {
    const args = await ptyScriptArgs(sb.inMacos([process.execPath, CLI, "monitor", "--follow", "--interval", "0.3"]).join(" "));
    const tty = execa("script", args, { env: sb.env, reject: false, detached: true });
    let out = "";
    tty.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await eventually(() => /web\/ssh .* loaded/.test(out), "a first frame");
      await pfctl(["-a", "limawan", "-t", BAN, "-T", "add", "198.51.100.66"]);
      await eventually(() => /banned \(1\): 198\.51\.100\.66/.test(out), "a frame with the ban");
    } finally {
      process.kill(-tty.pid!, "SIGTERM");
      await tty;
    }
    const frames = out.split("\x1b[H").slice(1);
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const frame of frames.slice(0, -1)) {
      expect(frame).toMatch(/\x1b\[J$/); // each frame clears what the last one left below it
      expect(frame.split(/\r?\n/).slice(0, -1).every((line) => line.endsWith("\x1b[K"))).toBe(true);
    }
    expect(out).not.toMatch(/\x1b\[2J/); // never a blank screen between frames
    expect(out).not.toMatch(/"event"/);
  });

  it("unban lifts one ban; expire lifts those older than a duration; bad arguments are usage errors", async () => {
    await pfctl(["-a", "limawan", "-t", BAN, "-T", "add", "198.51.100.66", "198.51.100.77", "198.51.100.88"]);
    const unban = await sb.run(["monitor", "unban", "web", "ssh", "198.51.100.66"]);
    expect(unban.exitCode, unban.stderr).toBe(0);
    expect((await pfctl(["-a", "limawan", "-t", BAN, "-T", "show"])).stdout).not.toMatch(/198\.51\.100\.66/);
    expect((await sb.run(["monitor", "unban", "web", "ssh", "198.51.100.66"])).exitCode).toBe(1); // not banned any more
    expect((await sb.run(["monitor", "unban", "web", "http", "198.51.100.77"])).stderr).toMatch(/has no `limit`, so it bans no one/);
    // .77 was banned two hours ago, .88 a moment ago.
    sb.editPfState((state) => {
      state.anchors.limawan.tables[BAN].added["198.51.100.77"] = Date.now() - 2 * 3600_000;
    });
    const expire = await sb.run(["monitor", "expire", "--older-than", "1h"]);
    expect(expire.exitCode, expire.stderr).toBe(0);
    expect(expire.stderr).toMatch(/lifted 1 ban\(s\) older than 1h/);
    expect((await pfctl(["-a", "limawan", "-t", BAN, "-T", "show"])).stdout.trim()).toBe("198.51.100.88");
    expect((await sb.run(["monitor", "expire"])).exitCode).toBe(2);
    expect((await sb.run(["monitor", "unban", "web", "ssh", "not-an-address"])).exitCode).toBe(2);
  });
});

describe("monitor --follow under limactl", () => {
  it("stops at once when the process that started it is gone, however long its interval (limactl passes no signal on)", async () => {
    // The user's side of a sudo re-run names it (LIMAWAN_INVOKER_PID): here a process of its own.
    const invoker = execa("sleep", ["60"], { reject: false });
    const taken = snapshots();
    const follow = sb.runBackground(["monitor", "--follow", "--interval", "3600"], { env: { LIMAWAN_INVOKER_PID: String(invoker.pid) } });
    let out = "";
    follow.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    await eventually(() => snapshots() > taken, "its first snapshot taken"); // an hour's wait begun
    invoker.kill("SIGKILL");
    await invoker;
    const result = await Promise.race([follow, new Promise<null>((r) => setTimeout(() => r(null), 5_000))]);
    expect(result, "monitor --follow still runs 5 s after its invoker went").not.toBeNull();
    expect(result!.exitCode).toBe(0);
  });
});
