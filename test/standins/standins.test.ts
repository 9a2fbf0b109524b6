// The stand-ins must behave like the real macOS and Lima tools, refusals included: a stand-in
// that accepts anything proves nothing. Formats are checked against the fixtures in
// test/fixtures/lima (copied from the design notes' fixtures) and the facts in LIMA-FACTS.md / PF-FACTS.md.
import { execa } from "execa";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import plist from "plist";
import { afterAll, describe, expect as globalExpect, test as base, vi } from "vitest";
import { createSandbox, DEFAULT_YAML, STANDIN_BIN, type Sandbox } from "../e2e/harness.js";
import { parseRfc3339Ns } from "./lib/go-format.mjs";
import { isAlive } from "./lib/lima-store.mjs";
import { eventually as waitUntil, type Check } from "../eventually.js";

// Each test starts several stand-in processes (Node, ~60 ms each on an idle core): vitest's 5 s
// default measures machine load, not the stand-ins (as in the e2e tests).
vi.setConfig({ testTimeout: 30_000 });

const FIXTURES = new URL("../fixtures/lima/", import.meta.url);
const fixtureLines = readFileSync(new URL("list-running.json", FIXTURES), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

const WEB = `minimumLimaVersion: "2.0.0"
cpus: 4
memory: 4GiB
disk: 100GiB
mounts:
  - location: "~"
networks:
  - lima: shared
    macAddress: "52:55:55:0a:07:e1"
param:
  SITE: example.org
provision:
  - mode: system
    script: |
      #!/bin/sh
      echo {{.Param.SITE}} >/etc/site-name
x-limawan: |
  expose http 80 as 8080
`;
const DB = `minimumLimaVersion: "2.0.0"
cpus: 2
memory: 2GiB
disk: 50GiB
mounts:
  - location: "~"
`;

const spawned: number[] = [];
const sandboxRoots: string[] = [];

/** Every test gets its own sandbox (so they can run concurrently), cleaned up after it. */
const test = base.extend<{ sb: Sandbox }>({
  sb: async ({}, use) => {
    const sb = await createSandbox();
    sandboxRoots.push(sb.paths.root);
    try {
      await use(sb);
    } finally {
      await sb.cleanup();
    }
  },
});

afterAll(async () => {
  const expect = globalExpect;
  // Every process a test started is gone: host agents (their argv names the sandbox) and watchers.
  const ps = await execa("ps", ["-eo", "pid=,stat=,args="]);
  const leftovers = ps.stdout.split("\n").filter((line) => sandboxRoots.some((root) => line.includes(root)) && !/^\s*\d+\s+Z/.test(line));
  expect(leftovers).toEqual([]);
  expect(spawned.filter((pid) => isAlive(pid))).toEqual([]);
});

/** A stand-in as the VM user (limactl refuses root) or as whoever runs the tests. */
function tool(sb: Sandbox, name: string, args: string[], options: { env?: Record<string, string | undefined>; asRoot?: boolean } = {}) {
  const argv = [path.join(STANDIN_BIN, name), ...args];
  return execa(...(options.asRoot ? ([argv[0]!, args] as const) : sb.asVmUser(argv)), { env: { ...sb.env, ...options.env }, extendEnv: false, reject: false });
}

const listJson = async (sb: Sandbox, ...names: string[]) => {
  const r = await tool(sb, "limactl", ["list", "--json", ...names]);
  return { ...r, objects: r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>) };
};
const events = (sb: Sandbox, name: string) =>
  readFileSync(path.join(sb.paths.limaHome, name, "ha.stdout.log"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { time: string; status: Record<string, unknown> });
const leases = (sb: Sandbox) => (existsSync(sb.paths.dhcpdLeases) ? readFileSync(sb.paths.dhcpdLeases, "utf8") : "");

// A deadline to fail by, not a speed to meet: node starts take seconds on a loaded runner.
const until = (check: Check, what: string, timeoutMs = 15_000) => waitUntil(check, what, { timeoutMs, pollMs: 10 });

describe.concurrent("limactl: version, root, unknown commands", () => {
  test("prints cobra's version line", async ({ sb, expect }) => {
    const r = await tool(sb, "limactl", ["--version"]);
    expect(r.stdout).toBe("limactl version 2.2.0");
    expect(r.exitCode).toBe(0);
  });

  test.runIf(process.getuid?.() === 0)("refuses root for every command, --version included (Lima ≥ 2.1)", async ({ sb, expect }) => {
    for (const args of [["--version"], ["list", "--json"]]) {
      const r = await tool(sb, "limactl", args, { asRoot: true });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toBe("limactl: must not run as the root user");
      expect(r.stdout).toBe("");
    }
  });

  test("LIMACTL_STANDIN_VERSION=2.0.0 plays Lima 2.0: no `watch`, and --version answers even root", async ({ sb, expect }) => {
    const env = { LIMACTL_STANDIN_VERSION: "2.0.0" };
    expect((await tool(sb, "limactl", ["--version"], { env, asRoot: true })).stdout).toBe("limactl version 2.0.0");
    const watch = await tool(sb, "limactl", ["watch", "--json"], { env });
    expect(watch.exitCode).toBe(1);
    expect(watch.stderr).toMatch(/unknown command \\"watch\\" for \\"limactl\\"/);
    if (sb.isRoot) expect((await tool(sb, "limactl", ["list"], { env, asRoot: true })).stderr).toMatch(/level=fatal msg="must not run as the root user"/);
  });

  test("rejects unknown commands and flags as cobra does", async ({ sb, expect }) => {
    const unknown = await tool(sb, "limactl", ["frobnicate"]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/level=fatal msg="unknown command \\"frobnicate\\" for \\"limactl\\""/);
    const flag = await tool(sb, "limactl", ["list", "--jsn"]);
    expect(flag.exitCode).toBe(1);
    expect(flag.stderr).toMatch(/unknown flag: --jsn/);
  });

  test("fails loudly without LIMA_HOME instead of using ~/.lima", async ({ sb, expect }) => {
    const r = await tool(sb, "limactl", ["list", "--json"], { env: { LIMA_HOME: undefined } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/LIMA_HOME is not set/);
  });

  test("runs limactl-NAME plugins from PATH, passing arguments and exit code", async ({ sb, expect }) => {
    const dir = path.join(sb.paths.root, "plugins");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "limactl-echo"), "#!/bin/sh\necho \"args:$*\"\nexit 7\n", { mode: 0o755 });
    chmodSync(dir, 0o755);
    const r = await tool(sb, "limactl", ["echo", "a", "--b"], { env: { PATH: `${dir}:${sb.env.PATH}` } });
    expect(r.stdout).toBe("args:a --b");
    expect(r.exitCode).toBe(7);
  });
});

describe.concurrent("limactl list --json", () => {
  test("no instances: empty stdout, a warning on stderr, exit 0", async ({ sb, expect }) => {
    const r = await tool(sb, "limactl", ["list", "--json"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/level=warning msg="No instance found\. Run `limactl create` to create an instance\."/);
  });

  test("prints JSON Lines, alphabetically, with the fixture's keys in the fixture's order", async ({ sb, expect }) => {
    expect((await sb.limactl(["create", "--name", "web", "-"], { input: WEB })).exitCode).toBe(0);
    await sb.addInstance("db", DB);
    await sb.startVm("web");
    const r = await listJson(sb);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n")).toHaveLength(2); // one compact object per line, no array
    const [db, web] = r.objects;
    expect([db!.name, db!.status, web!.name, web!.status]).toEqual(["db", "Stopped", "web", "Running"]);
    expect(Object.keys(db!)).toEqual(Object.keys(fixtureLines[0]!).filter((k) => k !== "sshLocalPort")); // no ssh.config yet
    expect(Object.keys(web!)).toEqual(Object.keys(fixtureLines[1]!));
    expect(Object.keys(web!.config)).toEqual(Object.keys(fixtureLines[1]!.config as object));
    expect(web!.network).toEqual([{ lima: "shared", macAddress: "52:55:55:0a:07:e1", interface: "lima0", metric: 100 }]);
    expect(web!.config.networks).toEqual(web!.network);
    expect(web!.hostAgentPID).toBe(web!.driverPID);
    expect(web!.dir).toBe(path.join(sb.paths.limaHome, "web"));
    expect(web!.LimaHome).toBe(sb.paths.limaHome);
    expect(web!.memory).toBe(4 * 1024 ** 3);
    // The lima-version file as a build writes it, and the params with the scripts that use them filled in.
    expect(web!.limaVersion).toBe("v2.2.0"); // a tagged build's; the fixture's is a git build's (v2.2.0-153-g183a60d7)
    expect(web!.param).toEqual({ SITE: "example.org" });
    expect(web!.config.provision).toEqual([{ mode: "system", script: "#!/bin/sh\necho example.org >/etc/site-name\n" }]);
  });

  test("never puts x-limawan into config, and warns about it on stderr as Lima does (stdout stays JSON)", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    const r = await listJson(sb);
    expect(JSON.stringify(r.objects[0]!.config)).not.toMatch(/x-limawan/);
    expect(r.stderr).toMatch(
      /^time="[^"]+" level=warning msg="Non-strict YAML detected; please check for typos" comment="main file `[^`]+\/web\/lima\.yaml`" error="\[17:1\] unknown field \\"x-limawan\\"/m,
    );
  });

  test("derives a stable 52:55:55 MAC from the lima.yaml path and index when none is set", async ({ sb, expect }) => {
    await sb.addInstance("a", "networks:\n  - lima: shared\n  - lima: host\n");
    const first = (await listJson(sb, "a")).objects[0]!.network;
    expect(first.map((n: { macAddress: string }) => n.macAddress)).toEqual([expect.stringMatching(/^52:55:55(:[0-9a-f]{2}){3}$/), expect.stringMatching(/^52:55:55/)]);
    expect(first[0].macAddress).not.toBe(first[1].macAddress);
    expect(first.map((n: { interface: string }) => n.interface)).toEqual(["lima0", "lima1"]);
    expect((await listJson(sb, "a")).objects[0]!.network).toEqual(first);
  });

  test("an unknown name: the others printed, a warning, then `unmatched instances`, exit 1", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    const r = await listJson(sb, "web", "nope");
    expect(r.exitCode).toBe(1);
    expect(r.objects.map((o) => o.name)).toEqual(["web"]);
    expect(r.stderr).toMatch(/level=warning msg="No instance matching nope found\."/);
    expect(r.stderr).toMatch(/level=fatal msg="unmatched instances"$/);
  });

  test("status comes from PID liveness, and stale PID files are removed", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    const dir = path.join(sb.paths.limaHome, "web");
    const exited = execa("true");
    await exited;
    writeFileSync(path.join(dir, "ha.pid"), `${exited.pid}\n`);
    writeFileSync(path.join(dir, "vz.pid"), `${exited.pid}\n`);
    expect((await listJson(sb)).objects[0]!.status).toBe("Stopped");
    expect(existsSync(path.join(dir, "ha.pid"))).toBe(false);
    expect(existsSync(path.join(dir, "vz.pid"))).toBe(false);

    // This test process is alive: ha.pid alone is Broken (host agent up, driver not), both Running.
    writeFileSync(path.join(dir, "ha.pid"), `${process.pid}\n`);
    const broken = await listJson(sb);
    expect(broken.objects[0]).toMatchObject({ status: "Broken", hostAgentPID: process.pid, errors: [] });
    expect(broken.stderr).toMatch(/instance `web` has errors.*host agent is running but driver is not/);
    writeFileSync(path.join(dir, "vz.pid"), `${process.pid}\n`);
    expect((await listJson(sb)).objects[0]).toMatchObject({ status: "Running", hostAgentPID: process.pid, driverPID: process.pid });
    writeFileSync(path.join(dir, "ha.pid"), "");
    writeFileSync(path.join(dir, "vz.pid"), "");
  });

  test("a lima.yaml Lima would reject makes an instance with errors that cannot start", async ({ sb, expect }) => {
    const strict = await createSandbox({ defaultImages: false });
    sandboxRoots.push(strict.paths.root);
    try {
      await strict.addInstance("noimg", "networks:\n  - lima: nowhere\n");
      const run = (args: string[]) => execa(...strict.asVmUser([path.join(STANDIN_BIN, "limactl"), ...args]), { env: strict.env, extendEnv: false, reject: false });
      const list = await run(["list", "--json"]);
      expect(JSON.parse(list.stdout)).toMatchObject({ name: "noimg", status: "", errors: [] });
      expect(list.stderr).toMatch(/field `images` must be set/);
      expect(list.stderr).toMatch(/references network `nowhere` which is not defined in networks\.yaml/);
      const start = await run(["start", "noimg"]);
      expect(start.exitCode).toBe(1);
      expect(start.stderr).toMatch(/errors inspecting instance/);
    } finally {
      await strict.cleanup();
    }
  });
});

describe.concurrent("limactl start / stop", () => {
  test("start: fresh logs, a detached host agent, booting then running events, a lease with stripped zeros", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    const r = await tool(sb, "limactl", ["start", "web"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/level=info msg="READY\. Run `limactl shell web` to open the shell\."/);
    const log = events(sb, "web");
    expect(log[0]!.status).toEqual({ sshLocalPort: expect.any(Number) });
    expect(log[1]!.status).toEqual({ running: true, sshLocalPort: log[0]!.status.sshLocalPort });
    for (const e of log) expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/);
    expect(parseRfc3339Ns(log[1]!.time)! >= parseRfc3339Ns(log[0]!.time)!).toBe(true);
    expect(leases(sb)).toMatch(/^\{\n\tname=lima-web\n\tip_address=192\.168\.105\.2\n\thw_address=1,52:55:55:a:7:e1\n\tidentifier=1,52:55:55:a:7:e1\n\tlease=0x[0-9a-f]+\n\}\n$/);
    const expiry = Number.parseInt(/lease=0x([0-9a-f]+)/.exec(leases(sb))![1]!, 16);
    expect(expiry).toBeGreaterThan(Date.now() / 1000);
    const [web] = (await listJson(sb, "web")).objects;
    expect(web).toMatchObject({ status: "Running", sshLocalPort: log[0]!.status.sshLocalPort });
    spawned.push(web!.hostAgentPID);
    expect(readFileSync(path.join(sb.paths.limaHome, "web/ha.pid"), "utf8")).toBe(`${web!.hostAgentPID}\n`);
    expect(statSync(path.join(sb.paths.limaHome, "web/ha.sock")).isSocket()).toBe(true);
  });

  test("start again while running is a no-op (exit 0), after a stop it recreates the logs", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    const again = await tool(sb, "limactl", ["start", "web"]);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toMatch(/The instance `web` is already running/);
    await sb.stopVm("web");
    expect(events(sb, "web").at(-1)!.status).toEqual({ exiting: true });
    await sb.startVm("web");
    expect(events(sb, "web").map((e) => Object.keys(e.status).join())).toEqual(["sshLocalPort", "running,sshLocalPort"]);
  });

  test("ha.pid of a live process without a driver (Broken): start refuses as Lima does", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    writeFileSync(path.join(sb.paths.limaHome, "web/ha.pid"), `${process.pid}\n`);
    const r = await tool(sb, "limactl", ["start", "web"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/level=fatal msg="errors inspecting instance: \[host agent is running but driver is not\]"/);
    writeFileSync(path.join(sb.paths.limaHome, "web/ha.pid"), "");
  });

  test("stop: SIGINT, the exiting event, ha.pid gone, the host agent gone", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    const pid = (await listJson(sb, "web")).objects[0]!.hostAgentPID as number;
    spawned.push(pid);
    const r = await tool(sb, "limactl", ["stop", "web"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Sending SIGINT to hostagent process \d+/);
    expect(events(sb, "web").at(-1)!.status).toEqual({ exiting: true });
    expect(existsSync(path.join(sb.paths.limaHome, "web/ha.pid"))).toBe(false);
    expect(existsSync(path.join(sb.paths.limaHome, "web/ha.sock"))).toBe(false);
    expect(isAlive(pid)).toBe(false);
    expect((await listJson(sb, "web")).objects[0]!.status).toBe("Stopped");
  });

  test("stop when not running: Lima's error, exit 1", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    const r = await tool(sb, "limactl", ["stop", "web"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/expected status \\"Running\\", got \\"Stopped\\" \(maybe use `limactl stop -f`\?\)/);
  });

  test("stop -f: SIGKILL, *.pid and *.sock removed, no exiting event", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    const pid = (await listJson(sb, "web")).objects[0]!.hostAgentPID as number;
    spawned.push(pid);
    const r = await tool(sb, "limactl", ["stop", "-f", "web"]);
    expect(r.exitCode).toBe(0);
    await until(() => !isAlive(pid), "host agent killed");
    expect(events(sb, "web").some((e) => e.status.exiting)).toBe(false);
    for (const f of ["ha.pid", "vz.pid", "ha.sock"]) expect(existsSync(path.join(sb.paths.limaHome, "web", f))).toBe(false);
    expect((await listJson(sb, "web")).objects[0]!.status).toBe("Stopped");
  });

  test("leases the first free address per VM, honours standin-ip, and keeps a MAC's address on restart", async ({ sb, expect }) => {
    await sb.addInstance("a", "networks:\n  - lima: shared\n");
    await sb.addInstance("b", "networks:\n  - lima: shared\n");
    await sb.addInstance("c", "networks:\n  - lima: shared\n");
    writeFileSync(path.join(sb.paths.limaHome, "c/standin-ip"), "192.168.105.50\n");
    await sb.startVm("a");
    await sb.startVm("b");
    await sb.startVm("c");
    expect([sb.leasedAddress("a"), sb.leasedAddress("b"), sb.leasedAddress("c")]).toEqual(["192.168.105.2", "192.168.105.3", "192.168.105.50"]);
    await sb.stopVm("a");
    await sb.startVm("a");
    expect(sb.leasedAddress("a")).toBe("192.168.105.2");
    expect(leases(sb).match(/\{/g)).toHaveLength(3);
  });

  test("LIMACTL_STANDIN_LEASE_DELAY_MS: running before the lease; the guest has no address until then", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web", { leaseDelayMs: 6_000 });
    expect(leases(sb)).toBe("");
    const early = await tool(sb, "limactl", ["shell", "--workdir", "/", "web", "ip", "-4", "-j", "addr", "show", "dev", "lima0"]);
    expect(early.exitCode).toBe(0);
    expect(JSON.parse(early.stdout)).toEqual([]);
    await until(() => leases(sb).includes("ip_address=192.168.105.2"), "the delayed lease", 20_000); // 6 s after boot: wide enough for the checks above on a loaded machine
  });

  test("--degraded running event: start fails like Lima's", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    const r = await tool(sb, "limactl", ["start", "web"], { env: { LIMACTL_STANDIN_DEGRADED: "1" } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/DEGRADED\. The VM seems running/);
  });
});

describe.concurrent("limactl shell", () => {
  test("answers `ip -4 -j addr show dev lima0` with iproute2 JSON carrying the leased address", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    const r = await tool(sb, "limactl", ["shell", "--workdir", "/", "web", "ip", "-4", "-j", "addr", "show", "dev", "lima0"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const [link] = JSON.parse(r.stdout) as Array<{ ifname: string; addr_info: Array<{ family: string; local: string; prefixlen: number }> }>;
    expect(link).toMatchObject({ ifindex: 3, ifname: "lima0", addr_info: [{ family: "inet", local: "192.168.105.2", prefixlen: 24 }] });
    await sb.setLease("web", "192.168.105.9");
    const after = await tool(sb, "limactl", ["shell", "--workdir", "/", "web", "ip", "-4", "-j", "addr", "show", "dev", "lima0"]);
    expect(JSON.parse(after.stdout)[0].addr_info[0].local).toBe("192.168.105.9");
    expect(sb.leasedAddress("web")).toBe("192.168.105.9");
  });

  test("refuses what it cannot do: other commands, unknown devices, stopped and unknown instances", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    const stopped = await tool(sb, "limactl", ["shell", "web", "true"]);
    expect(stopped.exitCode).toBe(1);
    expect(stopped.stderr).toMatch(/instance `web` is stopped, run `limactl start web` to start the instance/);
    const missing = await tool(sb, "limactl", ["shell", "nope", "true"]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/instance `nope` does not exist, run `limactl create nope`/);
    await sb.startVm("web");
    const other = await tool(sb, "limactl", ["shell", "web", "uname", "-a"]);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toMatch(/cannot run `uname -a`/);
    const device = await tool(sb, "limactl", ["shell", "web", "ip", "-4", "-j", "addr", "show", "dev", "lima7"]);
    expect(device.exitCode).toBe(1);
    expect(device.stderr).toMatch(/^Device "lima7" does not exist\.$/m);
  });
});

describe.concurrent("limactl watch --json", () => {
  test("like Lima's, misses a new instance whose directory came before its lima.yaml, and every one without a Lima home at its start", async ({ sb, expect }) => {
    const watch = (env: Record<string, string>) => {
      const w = execa(...sb.asVmUser([path.join(STANDIN_BIN, "limactl"), "watch", "--json"]), { env: { ...sb.env, ...env }, extendEnv: false, reject: false });
      spawned.push(w.pid!);
      const out = { stdout: "", stderr: "" };
      w.stdout!.on("data", (d: Buffer) => (out.stdout += d.toString()));
      w.stderr!.on("data", (d: Buffer) => (out.stderr += d.toString()));
      return { w, out };
    };
    const missing = path.join(sb.paths.root, "later");
    const early = watch({});
    const homeless = watch({ LIMA_HOME: missing });
    try {
      await until(() => early.out.stderr.includes("Watching for events...") && homeless.out.stderr.includes("Watching for events..."), "watchers ready", 20_000);
      // After "Watching for events...", as Lima prints it.
      await until(() => /level=warning msg="Failed to watch lima directory for new instances" error="lstat [^"]*\/later: no such file or directory"/.test(homeless.out.stderr), "the homeless watcher's warning");
      // `limactl create` makes the directory, then lima.yaml: 300 ms apart here.
      const created = await sb.limactl(["create", "--name", "slow", "-"], { input: "networks:\n  - lima: shared\n", env: { LIMACTL_STANDIN_CREATE_PAUSE_MS: "300" } });
      expect(created.exitCode, String(created.stderr)).toBe(0);
      await sb.addInstance("quick", "networks:\n  - lima: shared\n"); // lima.yaml there as the directory appears
      await until(() => early.out.stderr.includes("New instance detected: quick"), "quick noticed", 10_000);
      await sb.startVm("slow");
      await sb.startVm("quick");
      await until(() => early.out.stdout.includes('"instance":"quick"'), "quick's events", 10_000);
      expect(early.out.stdout).not.toMatch(/"instance":"slow"/);
      expect(early.out.stderr).not.toMatch(/New instance detected: slow/);

      mkdirSync(missing, { mode: 0o755 });
      if (sb.vmUser) chownSync(missing, sb.vmUser.uid, sb.vmUser.gid);
      const late = await sb.limactl(["create", "--name", "late", "-"], { input: `${DEFAULT_YAML}networks:\n  - lima: shared\n`, env: { LIMA_HOME: missing } });
      expect(late.exitCode, String(late.stderr)).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      expect(homeless.out.stderr).not.toMatch(/New instance detected/);
      await sb.stopVm("slow", { force: true });
      await sb.stopVm("quick", { force: true });
    } finally {
      early.w.kill("SIGTERM");
      homeless.w.kill("SIGTERM");
      await Promise.all([early.w, homeless.w]);
    }
  }, 90_000); // two watchers, a create, two starts and stops: a dozen node starts

  test("streams the events of a start and a stop within moments, including an instance created after it started", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    const watcher = execa(...sb.asVmUser([path.join(STANDIN_BIN, "limactl"), "watch", "--json"]), { env: sb.env, extendEnv: false, reject: false });
    spawned.push(watcher.pid!);
    const lines: Array<{ instance: string; event: { time: string; status: Record<string, unknown> } }> = [];
    let stderr = "";
    let buffered = "";
    watcher.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      for (const p of parts) lines.push(JSON.parse(p));
    });
    watcher.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      await until(() => stderr.includes("Watching for events..."), "watch ready", 20_000); // a node start, on a loaded machine
      await sb.startVm("web");
      // `limactl start` returns once the running event is in ha.stdout.log: from then on the
      // stream has it to itself (the start's own process fan-out is machine load, not latency).
      const written = Date.now();
      await until(() => lines.some((l) => l.instance === "web" && l.event.status.running === true), "running event");
      expect(Date.now() - written).toBeLessThan(1_500);
      expect(lines.map((l) => Object.keys(l))).toContainEqual(["instance", "event"]);
      expect(lines[0]!.event.status).toEqual({ sshLocalPort: expect.any(Number) });

      await sb.stopVm("web");
      await until(() => lines.some((l) => l.event.status.exiting === true), "exiting event");

      await sb.addInstance("late", "networks:\n  - lima: shared\n");
      await until(() => stderr.includes("New instance detected: late"), "new instance noticed");
      await sb.startVm("late");
      await until(() => lines.some((l) => l.instance === "late" && l.event.status.running === true), "late's running event");
      await sb.stopVm("late", { force: true });
    } finally {
      watcher.kill("SIGTERM");
      const result = await watcher;
      expect(result.signal).toBe("SIGTERM"); // limactl installs no handler: the signal ends it
    }
  });

  test("old events (before watch started) are not replayed", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    const watcher = execa(...sb.asVmUser([path.join(STANDIN_BIN, "limactl"), "watch", "--json"]), { env: sb.env, extendEnv: false, reject: false });
    spawned.push(watcher.pid!);
    let stdout = "";
    let stderr = "";
    watcher.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    watcher.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    await until(() => stderr.includes("Watching for events..."), "watch ready");
    await new Promise((r) => setTimeout(r, 150));
    watcher.kill("SIGTERM");
    await watcher;
    expect(stdout).toBe("");
  });
});

describe.concurrent("limactl create / delete", () => {
  test("create copies the file verbatim; delete refuses a running instance unless -f", async ({ sb, expect }) => {
    const file = path.join(sb.paths.root, "web.yaml");
    writeFileSync(file, WEB, { mode: 0o644 });
    const created = await tool(sb, "limactl", ["create", "--name", "web", file]);
    expect(created.exitCode, String(created.stderr)).toBe(0);
    expect(readFileSync(path.join(sb.paths.limaHome, "web/lima.yaml"), "utf8")).toBe(WEB);
    expect((await tool(sb, "limactl", ["create", "--name", "web", file])).stderr).toMatch(/instance `web` already exists/);
    await sb.startVm("web");
    const refused = await tool(sb, "limactl", ["delete", "web"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/expected status `Stopped`, got `Running`/);
    const forced = await tool(sb, "limactl", ["delete", "-f", "web"]);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(existsSync(path.join(sb.paths.limaHome, "web"))).toBe(false);
  });
});

describe.concurrent("sysctl", () => {
  test("reads in both formats and writes in macOS' `old -> new` format, logging every call", async ({ sb, expect }) => {
    expect((await tool(sb, "sysctl", ["-n", "net.inet.ip.forwarding"], { asRoot: true })).stdout).toBe("0");
    expect((await tool(sb, "sysctl", ["net.inet.ip.forwarding"], { asRoot: true })).stdout).toBe("net.inet.ip.forwarding: 0");
    expect((await tool(sb, "sysctl", ["kern.ostype"], { asRoot: true })).stdout).toBe("kern.ostype: Darwin");
    if (sb.isRoot) {
      const w = await tool(sb, "sysctl", ["-w", "net.inet.ip.forwarding=1"], { asRoot: true });
      expect([w.exitCode, w.stdout]).toEqual([0, "net.inet.ip.forwarding: 0 -> 1"]);
      expect(sb.sysctlState()["net.inet.ip.forwarding"]).toBe("1");
    }
    expect(sb.sysctlCalls().map((c) => c.argv)).toContainEqual(["-n", "net.inet.ip.forwarding"]);
  });

  test("refuses unknown oids, read-only oids, bad values, and writes by non-root", async ({ sb, expect }) => {
    const unknown = await tool(sb, "sysctl", ["-n", "net.inet.ip.forwardin"], { asRoot: true });
    expect([unknown.exitCode, unknown.stderr]).toEqual([1, "sysctl: unknown oid 'net.inet.ip.forwardin'"]);
    const readOnly = await tool(sb, "sysctl", ["-w", "kern.ostype=Linux"], { asRoot: true });
    expect([readOnly.exitCode, readOnly.stderr]).toEqual([1, "sysctl: oid 'kern.ostype' is read only"]);
    const bad = await tool(sb, "sysctl", ["-w", "net.inet.ip.forwarding=yes"], { asRoot: true });
    expect([bad.exitCode, bad.stderr]).toEqual([1, "sysctl: invalid integer 'yes'"]);
    if (sb.vmUser) {
      const user = await tool(sb, "sysctl", ["-w", "net.inet.ip.forwarding=1"]);
      expect([user.exitCode, user.stdout, user.stderr]).toEqual([1, "net.inet.ip.forwarding: 0", "sysctl: net.inet.ip.forwarding=1: Operation not permitted"]);
    }
    expect(sb.sysctlState()["net.inet.ip.forwarding"]).toBe("0");
  });
});

describe.concurrent("launchctl", () => {
  const writePlist = (sb: Sandbox, name: string, job: Record<string, unknown>, mode = 0o644) => {
    const file = path.join(sb.paths.launchdDir, name);
    writeFileSync(file, plist.build(job as plist.PlistObject), { mode });
    chmodSync(file, mode);
    return file;
  };
  const job = { Label: "dev.limawan.watch", ProgramArguments: ["/usr/local/bin/node", "/opt/limawan/limactl-limawan", "watch"], RunAtLoad: true };

  test.runIf(process.getuid?.() === 0)("bootstrap, print, kickstart, bootout — and never runs the program", async ({ sb, expect }) => {
    const file = writePlist(sb, "dev.limawan.watch.plist", job);
    const boot = await tool(sb, "launchctl", ["bootstrap", "system", file], { asRoot: true });
    expect(boot.exitCode, boot.stderr).toBe(0);
    const print = await tool(sb, "launchctl", ["print", "system/dev.limawan.watch"], { asRoot: true });
    expect(print.exitCode).toBe(0);
    expect(print.stdout).toMatch(/^system\/dev\.limawan\.watch = \{$/m);
    expect(print.stdout).toMatch(/\tstate = running/);
    expect(print.stdout).toMatch(/\tprogram = \/usr\/local\/bin\/node/);
    expect(print.stdout).toMatch(/\targuments = \{\n\t\t\/usr\/local\/bin\/node\n\t\t\/opt\/limawan\/limactl-limawan\n\t\twatch\n\t\}/);
    expect((await tool(sb, "launchctl", ["bootstrap", "system", file], { asRoot: true })).stderr).toBe("Bootstrap failed: 5: Input/output error");
    expect((await tool(sb, "launchctl", ["kickstart", "-k", "system/dev.limawan.watch"], { asRoot: true })).exitCode).toBe(0);
    expect(sb.launchctlState().services["system/dev.limawan.watch"]!.runs).toBe(2);
    expect((await tool(sb, "launchctl", ["bootout", "system/dev.limawan.watch"], { asRoot: true })).exitCode).toBe(0);
    const again = await tool(sb, "launchctl", ["bootout", "system/dev.limawan.watch"], { asRoot: true });
    expect([again.exitCode, again.stderr]).toEqual([3, "Boot-out failed: 3: No such process"]);
    const gone = await tool(sb, "launchctl", ["print", "system/dev.limawan.watch"], { asRoot: true });
    expect([gone.exitCode, gone.stderr]).toEqual([113, 'Could not find service "dev.limawan.watch" in domain for system']);
  });

  test("refuses plists launchd refuses: missing, not a plist, no Label/program, group-writable; and non-root", async ({ sb, expect }) => {
    const boot = (file: string, asRoot = true) => tool(sb, "launchctl", ["bootstrap", "system", file], { asRoot });
    const refusals = [
      path.join(sb.paths.launchdDir, "missing.plist"),
      (() => {
        const f = path.join(sb.paths.launchdDir, "text.plist");
        writeFileSync(f, "not a plist");
        return f;
      })(),
      writePlist(sb, "nolabel.plist", { ProgramArguments: ["/bin/true"] }),
      writePlist(sb, "noprogram.plist", { Label: "x" }),
      writePlist(sb, "writable.plist", job, 0o666),
    ];
    for (const file of refusals) {
      const r = await boot(file);
      expect([r.exitCode, r.stderr], file).toEqual(sb.isRoot ? [5, "Bootstrap failed: 5: Input/output error"] : [1, "Bootstrap failed: 1: Operation not permitted"]);
    }
    if (sb.vmUser) {
      const r = await boot(writePlist(sb, "ok.plist", job), false);
      expect([r.exitCode, r.stderr]).toEqual([1, "Bootstrap failed: 1: Operation not permitted"]);
    }
    expect(sb.launchctlState().services).toEqual({});
    const unknown = await tool(sb, "launchctl", ["frobnicate"]);
    expect([unknown.exitCode, unknown.stderr.split("\n")[0]]).toEqual([64, "Unrecognized subcommand: frobnicate"]);
  });
});

describe.concurrent("route and ifconfig", () => {
  test("route -n get default in macOS' format; no default route is an error", async ({ sb, expect }) => {
    const r = await tool(sb, "route", ["-n", "get", "default"]);
    expect(r.stdout.split("\n").slice(0, 6)).toEqual([
      "   route to: default",
      "destination: default",
      "       mask: default",
      "    gateway: 203.0.113.1",
      "  interface: en0",
      "      flags: <UP,GATEWAY,DONE,STATIC,PRCLONING,GLOBAL>",
    ]);
    expect((await tool(sb, "route", ["-n", "get", "default"], { env: { ROUTE_STANDIN_INTERFACE: "en7" } })).stdout).toMatch(/ {2}interface: en7/);
    const none = await tool(sb, "route", ["-n", "get", "default"], { env: { ROUTE_STANDIN_INTERFACE: "none" } });
    expect([none.exitCode, none.stdout, none.stderr]).toEqual([1, "", "route: writing to routing socket: not in table"]);
  });

  test("ifconfig -l lists interfaces, ifconfig IF describes one, unknown ones do not exist", async ({ sb, expect }) => {
    expect((await tool(sb, "ifconfig", ["-l"])).stdout).toBe("lo0 en0 en1 bridge100");
    expect((await tool(sb, "ifconfig", ["-l"], { env: { IFCONFIG_STANDIN_INTERFACES: "lo0 en0 utun3" } })).stdout).toBe("lo0 en0 utun3");
    const en0 = (await tool(sb, "ifconfig", ["en0"])).stdout;
    expect(en0).toMatch(/^en0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500$/m);
    expect(en0).toMatch(/^\tinet 203\.0\.113\.10 netmask 0xffffff00 broadcast 203\.0\.113\.255$/m);
    expect(en0).toMatch(/^\tstatus: active$/m);
    const missing = await tool(sb, "ifconfig", ["en9"]);
    expect([missing.exitCode, missing.stderr]).toEqual([1, "ifconfig: interface en9 does not exist"]);
  });
});
