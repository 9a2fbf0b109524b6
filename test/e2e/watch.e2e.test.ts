// The watch reconciler end to end: a real `limactl-limawan watch` process against the
// stand-ins, VMs started and stopped through the limactl stand-in (which writes host-agent
// events and DHCP leases like Lima and bootpd), PF read back through the pfctl stand-in.
import { execa, type ResultPromise } from "execa";
import { appendFileSync, chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import path from "node:path";
import { CLI, createSandbox, DEFAULT_YAML, type Sandbox, STANDIN_BIN, standin } from "./harness.js";
import { eventually as waitUntil, type Check } from "../eventually.js";

// Each CLI call here is a Node process plus stand-in processes (~1 s on 2 busy cores), and a
// test makes several: vitest's 5 s default is a measure of machine load, not of correctness.
vi.setConfig({ testTimeout: 30_000 });

const annotated = (port: number) => `networks:
  - lima: shared
x-limawan: |
  interface en0
  expose ssh 22 as ${port}
`;

let sb: Sandbox;
let watchers: ResultPromise[] = [];

beforeEach(async () => {
  sb = await createSandbox();
});
afterEach(async () => {
  for (const w of watchers) w.kill("SIGKILL");
  watchers = [];
  await sb.cleanup();
});

async function anchorNat(): Promise<string> {
  return (await execa(standin("pfctl"), ["-a", "limawan", "-sn"], { env: sb.env, reject: false })).stdout;
}

function loadCount(): number {
  let text = "";
  try {
    text = readFileSync(`${sb.env.PFCTL_STANDIN_STATE}.calls`, "utf8");
  } catch {
    return 0;
  }
  return text.split("\n").filter(Boolean).filter((l) => (JSON.parse(l) as { argv: string[] }).argv.join(" ") === "-a limawan -f -").length;
}

/** Log each `limactl list` the CLI runs (a shim over the sandbox's limactl); returns their times (ms). */
function countLimaListings(): () => number[] {
  const log = path.join(sb.paths.root, "limactl-list.log");
  writeFileSync(log, "", { mode: 0o666 });
  chmodSync(log, 0o666); // limactl runs as the VM user
  const limactl = path.join(sb.paths.root, "user-bin", "limactl");
  rmSync(limactl, { force: true });
  const shim = `#!/bin/bash\n[ "$1" = list ] && printf '%s\\n' "$EPOCHREALTIME" >> ${log}\nPATH=${path.dirname(process.execPath)}:$PATH exec ${path.join(STANDIN_BIN, "limactl")} "$@"\n`;
  writeFileSync(limactl, shim, { mode: 0o755 });
  return () => readFileSync(log, "utf8").split("\n").filter(Boolean).map((t) => Number(t) * 1000);
}

const eventually = (check: Check, what: string, timeoutMs = 8000) => waitUntil(check, what, { timeoutMs, pollMs: 50 });

/** Until the watcher has asked pfctl nothing for a second: no run in progress or pending. */
async function quiet(): Promise<void> {
  const calls = () => {
    try {
      return readFileSync(`${sb.env.PFCTL_STANDIN_STATE}.calls`, "utf8").length;
    } catch {
      return 0;
    }
  };
  let last = -1;
  await eventually(async () => {
    const now = calls();
    if (now === last) return true;
    last = now;
    await new Promise((r) => setTimeout(r, 1000));
    return false;
  }, "the watcher idle", 20_000);
}

function startWatcher(): ResultPromise {
  const w = sb.runBackground(["watch"]);
  watchers.push(w);
  return w;
}

/** A watcher whose stderr so far is what the returned function gives. */
function startWatcherWithLog(): () => string {
  let log = "";
  startWatcher().stderr?.on("data", (d: Buffer) => (log += d.toString()));
  return () => log;
}

describe("watch", () => {
  it("applies on start, follows an address change, removes on stop and on delete — several VMs at once", async () => {
    await sb.addInstance("a", annotated(2201));
    await sb.addInstance("b", annotated(2202));
    await sb.addInstance("c", annotated(2203));
    startWatcher();
    await Promise.all([sb.startVm("a"), sb.startVm("b"), sb.startVm("c")]);
    await eventually(async () => /port (= )?2201[\s\S]*port (= )?2202[\s\S]*port (= )?2203/.test(await anchorNat()), "a, b and c forwarded");

    await sb.setLease("b", "192.168.105.99");
    await eventually(async () => /2202 .*-> 192\.168\.105\.99 port 22/.test(await anchorNat()), "b's new address");

    await sb.stopVm("a");
    await eventually(async () => !/2201/.test(await anchorNat()), "a removed after a clean stop");

    await sb.stopVm("c", { force: true }); // no exiting event: ha.pid disappears
    await eventually(async () => !/2203/.test(await anchorNat()), "c removed after stop -f");

    await sb.stopVm("b");
    rmSync(`${sb.paths.limaHome}/b`, { recursive: true, force: true });
    await eventually(async () => (await anchorNat()).trim() === "", "anchor empty after every VM went");
  });

  it("after SIGKILL, a restarted watcher converges (removes the stale VM, adds the new one)", async () => {
    await sb.addInstance("a", annotated(2201));
    await sb.addInstance("b", annotated(2202));
    await sb.startVm("a");
    const first = startWatcher();
    await eventually(async () => /2201/.test(await anchorNat()), "a forwarded");
    first.kill("SIGKILL");
    await first.catch(() => undefined);
    await sb.stopVm("a", { force: true });
    await sb.startVm("b");
    startWatcher();
    // If the kill came mid-reconcile, the dead watcher's state lock must go stale (5 s) first.
    await eventually(async () => {
      const nat = await anchorNat();
      return /2202/.test(nat) && !/2201/.test(nat);
    }, "b forwarded and a's stale rules gone", 12_000);
  });

  // One watcher through the three ways the watcher's policy leaves a VM's rules alone (each
  // decided from plain facts in test/engine/desired-state.test.ts: "a broken annotation costs its
  // own VM only…", "reads applied VMs first: an edit cannot take a port another applied VM
  // holds…", "skips VMs `down` holds…"): here, that the watcher runs with that policy and says so.
  it("an invalid annotation is reported with its position and blocks no other VM; an edit that claims another applied VM's port is refused, both keeping their rules; a VM `down` took out is left alone until `up` names it again; then an edit re-applies", async () => {
    await sb.addInstance("a", annotated(2201));
    await sb.addInstance("b", annotated(2202));
    await sb.addInstance("bad", "networks:\n  - lima: shared\nx-limawan: |\n  expose ssh 22 as 99999\n");
    const log = startWatcherWithLog();
    await Promise.all([sb.startVm("a"), sb.startVm("b"), sb.startVm("bad")]);
    await eventually(async () => /2201[\s\S]*2202/.test(await anchorNat()), "a and b forwarded");
    await eventually(() => /bad\/lima\.yaml:4:20: error LW101/.test(log()), "bad reported with file:line:col");

    // `a` sorts first, so it is read first: without b's applied ports held, it would take 2202
    // and leave b falling back to rules that clash with it.
    writeFileSync(`${sb.paths.limaHome}/a/lima.yaml`, annotated(2202));
    await eventually(() => /already claimed by VM `b`/.test(log()), "a's clash reported");
    const nat = await anchorNat();
    expect(nat.match(/port (= )?2202 /g)).toHaveLength(1);
    expect(nat).toMatch(/port (= )?2202 .*-> 192\.168\.105\.\d+ port 22/);
    expect(nat).toMatch(/port (= )?2201 /);
    expect(log()).toMatch(/a: annotation has errors; keeping its last valid rules/);

    expect((await sb.run(["down", "a"])).exitCode).toBe(0);
    // An edit makes the watcher look again; it must not bring `a` back.
    writeFileSync(`${sb.paths.limaHome}/a/lima.yaml`, annotated(2301));
    await eventually(() => /a: held down by `limactl limawan down`/.test(log()), "the watcher saying a is held down");
    expect(await anchorNat()).not.toMatch(/2201|2301/);
    expect((await sb.run(["up", "a"])).exitCode).toBe(0);
    await eventually(async () => /2301/.test(await anchorNat()), "a forwarded again after up");

    // Forwarded again, an edit while it runs re-applies.
    writeFileSync(`${sb.paths.limaHome}/a/lima.yaml`, annotated(2401));
    await eventually(async () => {
      const nat = await anchorNat();
      return /2401/.test(nat) && !/2301/.test(nat);
    }, "the edited port applied");
  });

  it("an event storm (many writes to ha.stdout.log) causes no extra loads", async () => {
    await sb.addInstance("a", annotated(2201));
    startWatcher();
    await sb.startVm("a");
    await eventually(async () => /2201/.test(await anchorNat()), "a forwarded");
    await new Promise((r) => setTimeout(r, 300));
    const loadsBefore = loadCount();
    const log = `${sb.paths.limaHome}/a/ha.stdout.log`;
    for (let i = 0; i < 300; i++) {
      appendFileSync(log, `${JSON.stringify({ time: new Date().toISOString(), status: { running: true, sshLocalPort: 50000, portForward: { type: "forwarding", protocol: "tcp", guestAddr: `0.0.0.0:${8000 + i}`, hostAddr: `127.0.0.1:${8000 + i}` } } })}\n`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    expect(loadCount()).toBe(loadsBefore);
  });

  it("a VM's start and its stop each cost one anchor load and no Lima query, other pfctl or sysctl call on the way; one re-check follows, off the path", async () => {
    await sb.addInstance("keep", annotated(2201));
    await sb.addInstance("web", annotated(2202));
    const listings = countLimaListings();
    watchers.push(sb.runBackground(["watch"], { env: { LIMAWAN_WATCH_INTERVAL_MS: "600000" } }));
    const listingsOfMainRules = () => sb.pfctlCalls().filter((c) => c.argv.join(" ") === "-sr").length;
    await sb.startVm("keep");
    await eventually(() => loadCount() > 0, "keep forwarded");
    const looked = listingsOfMainRules();
    await eventually(() => listingsOfMainRules() > looked, "the re-check after keep's load");
    await quiet();
    for (const phase of ["start", "stop"] as const) {
      const [pf, sys, loads] = [sb.pfctlCalls().length, sb.sysctlCalls().length, loadCount()];
      const startedAt = Date.now();
      if (phase === "start") await sb.startVm("web");
      else await sb.stopVm("web");
      await eventually(() => loadCount() > loads, `a load after web's ${phase}`);
      const lookedBefore = listingsOfMainRules();
      const calls = sb.pfctlCalls().slice(pf);
      const load = calls.findIndex((c) => c.argv.join(" ") === "-a limawan -f -");
      // Only the load itself: no pfctl -n first, no listing of rules, labels or references.
      expect(calls.slice(0, load + 1).map((c) => c.argv.join(" ")), phase).toEqual(["-a limawan -f -"]);
      expect(sb.sysctlCalls().slice(sys).filter((c) => Date.parse(c.time) <= Date.parse(calls[load]!.time)), phase).toEqual([]);
      // The events and the leases said enough: no `limactl list` between the VM's start (or stop) and the load.
      const loadedAt = Date.parse(calls[load]!.time);
      expect(listings().filter((t) => t >= startedAt && t <= loadedAt), phase).toEqual([]);
      await eventually(() => listingsOfMainRules() > lookedBefore, `the re-check after web's ${phase}`);
      await quiet();
      // Then one full look (the main ruleset's two listings once), and no second load.
      const after = sb.pfctlCalls().slice(pf + load + 1).map((c) => c.argv.join(" "));
      expect([after.filter((a) => a === "-sr").length, after.filter((a) => / -f /.test(` ${a} `)).length], phase).toEqual([1, 0]);
      // …which asks Lima once, in full.
      expect(listings().filter((t) => t > loadedAt).length, phase).toBe(1);
    }
    expect(await anchorNat()).toMatch(/2201/);
    expect(await anchorNat()).not.toMatch(/2202/);
  });

  it("exits cleanly on SIGTERM, leaving the running VMs' rules in place", async () => {
    await sb.addInstance("a", annotated(2201));
    await sb.startVm("a");
    const w = startWatcher();
    await eventually(async () => /2201/.test(await anchorNat()), "a forwarded");
    w.kill("SIGTERM");
    const result = await w;
    expect(result.exitCode).toBe(0);
    expect(await anchorNat()).toMatch(/2201/);
  });
});

describe("watch: new instances", () => {
  // A periodic check far off: what forwards a new VM here is the watcher noticing it, not that.
  const SLOW_CHECK = { LIMAWAN_WATCH_INTERVAL_MS: "600000" };

  /** A watcher, its stderr so far, and whether its `limactl watch` stream has started. */
  function watcherWithLog(env: Record<string, string> = {}): { log: () => string; streaming: () => Promise<boolean> } {
    let log = "";
    const w = sb.runBackground(["watch"], { env: { ...SLOW_CHECK, ...env } });
    watchers.push(w);
    w.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    const streaming = async () => /limactl watch --json/.test((await execa("ps", ["-o", "args=", "--ppid", String(w.pid)], { reject: false })).stdout);
    return { log: () => log, streaming };
  }

  it("forwards a new VM at its first start as fast as any other, though `limactl watch` missed it", async () => {
    // The Mac on a LAN (192.168.1.0/24) that the bridged VM joins.
    const { log, streaming } = watcherWithLog({ IFCONFIG_STANDIN_ADDRESSES: "en0=192.168.1.20/24,bridge100=192.168.105.1/24" });
    await eventually(streaming, "the watcher's `limactl watch` started");
    await new Promise((r) => setTimeout(r, 1000)); // and looking at the Lima home
    // As `limactl create` makes it: the directory, then (here 300 ms later) lima.yaml. The
    // stream looks at the directory once, before lima.yaml is there, and never follows it.
    // Bridged: no DHCP lease on this Mac whose change would start a run (the guest says its address).
    const bridged = annotated(2299).replace("lima: shared", "lima: bridged");
    const created = await sb.limactl(["create", "--name", "late", "-"], { input: bridged, env: { LIMACTL_STANDIN_CREATE_PAUSE_MS: "300" } });
    expect(created.exitCode, String(created.stderr)).toBe(0);
    writeFileSync(`${sb.paths.limaHome}/late/standin-ip`, "192.168.1.50\n"); // the LAN's DHCP server's answer
    sb.setArp("192.168.1.50", sb.macAddress("late")); // the Mac's neighbour table vouches for it
    await quiet(); // the run lima.yaml's arrival started is over: only the start itself may start one now
    await sb.startVm("late");
    // At once means by the start's own event, not by the periodic check: the log says which.
    await eventually(async () => /2299/.test(await anchorNat()), "late forwarded", 20_000).catch((e) => { throw new Error(`${String(e)}\n${log()}`); });
    expect(log()).not.toMatch(/periodic check/);
  });

  it("a Lima home made after the watcher started: watched as it appears, its VMs forwarded at once", async () => {
    const parent = `${sb.paths.root}/later`;
    const home = `${parent}/.lima`;
    mkdirSync(parent, { mode: 0o755 });
    if (sb.vmUser) chownSync(parent, sb.vmUser.uid, sb.vmUser.gid);
    const { log } = watcherWithLog({ LIMA_HOME: home });
    await eventually(() => /does not exist yet; watching for it/.test(log()), "watcher waiting for the Lima home");
    await new Promise((r) => setTimeout(r, 500));
    // `limactl watch` started without a Lima home never notices an instance made in it.
    mkdirSync(home, { mode: 0o755 });
    if (sb.vmUser) chownSync(home, sb.vmUser.uid, sb.vmUser.gid);
    await eventually(() => /now exists; following Lima's events there/.test(log()), "watcher noticing the Lima home");
    const yaml = `${DEFAULT_YAML}${annotated(2298)}`;
    expect((await sb.limactl(["create", "--name", "first", "-"], { input: yaml, env: { LIMA_HOME: home } })).exitCode).toBe(0);
    await sb.limactl(["start", "first"], { env: { LIMA_HOME: home } });
    await eventually(async () => /2298/.test(await anchorNat()), "first forwarded", 5_000);
    await sb.limactl(["stop", "first"], { env: { LIMA_HOME: home } });
    await eventually(async () => !/2298/.test(await anchorNat()), "first's forward removed on stop", 5_000);
  });
});

describe("install, uninstall, start", () => {
  it("install writes a launchd plist that runs limactl-limawan watch directly, and status says it is loaded", async () => {
    // A directory the user can write on root's PATH (sudo keeps the user's PATH on a Mac).
    const userBin = `${sb.paths.root}/user-writable-bin`;
    mkdirSync(userBin, { mode: 0o777 });
    chmodSync(userBin, 0o777);
    const r = await sb.run(["install"], { env: { SUDO_USER: "alice", SUDO_UID: "501", SUDO_GID: "20", PATH: `${userBin}:${sb.env.PATH}` } });
    expect(r.exitCode, r.stderr).toBe(0);
    const plist = readFileSync(`${sb.paths.launchdDir}/dev.limawan.watch.plist`, "utf8");
    // The root-owned copy's launcher, run directly (limactl forwards no signals).
    expect(plist).toMatch(new RegExp(`<key>ProgramArguments</key>\\s*<array>\\s*<string>${sb.paths.libexecDir}/limactl-limawan</string>\\s*<string>watch</string>`));
    expect(plist).not.toMatch(/<string>limactl<\/string>/);
    expect(plist).toContain(`<string>${sb.paths.limaHome}</string>`);
    // The daemon's PATH is the system's alone (root runs the macOS tools by absolute path anyway).
    const daemonPath = /<key>PATH<\/key>\s*<string>([^<]*)<\/string>/.exec(plist)![1]!;
    expect(daemonPath).toBe("/usr/bin:/bin:/usr/sbin:/sbin");
    const status = await sb.run(["status"]);
    expect(status.stdout).toMatch(/watch daemon: loaded/);
    const un = await sb.run(["uninstall"]);
    expect(un.exitCode, un.stderr).toBe(0);
    expect((await sb.run(["status"])).stdout).toMatch(/watch daemon: not installed/);
  });

  it("install --dry-run shows the plist and changes nothing", async () => {
    const r = await sb.run(["install", "--dry-run"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/<key>ProgramArguments<\/key>/);
    expect(r.stdout).toMatch(/would run: launchctl bootstrap system/);
    expect(() => readFileSync(`${sb.paths.launchdDir}/dev.limawan.watch.plist`)).toThrow();
  });

  it("start runs limactl start, then up", async () => {
    await sb.addInstance("a", annotated(2201));
    const r = await sb.run(["start", "a"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await anchorNat()).toMatch(/2201/);
  });
});

describe("watch under limactl", () => {
  it("stops cleanly when its parent is gone (limactl killed alone passes no signal on), leaving the rules", async () => {
    await sb.addInstance("a", annotated(2201));
    await sb.startVm("a");
    // limactl's part, played by a shell that is killed alone; the watcher is its child.
    const log = `${sb.paths.root}/watch.log`;
    // In the CLI's namespace (the stand-ins where macOS keeps the tools); unshare execs the shell itself.
    const [file, ...argv] = sb.inMacos(["/bin/sh", "-c", '"$0" "$1" watch 2>"$2" & echo $!; wait', process.execPath, CLI, log]);
    const parent = execa(file!, argv, { env: sb.env, extendEnv: false, reject: false });
    let pid = 0;
    parent.stdout!.on("data", (d: Buffer) => (pid ||= Number(d.toString().trim())));
    await eventually(async () => /2201/.test(await anchorNat()), "a forwarded", 20_000);
    parent.kill("SIGKILL");
    await parent;
    await eventually(() => !running(pid), "the orphaned watcher gone", 5_000);
    expect(readFileSync(log, "utf8")).toMatch(/the process that started it is gone: stopping; rules of running VMs stay in place/);
    expect(await anchorNat()).toMatch(/2201/);
  });
});

/** Whether the process runs (a zombie nobody reaped yet has ended). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
