// The e2e harness itself: the sandbox is laid out as the contract says (DESIGN.md "Host
// access"), drives the built CLI, moves VM addresses like bootpd would, hides programs from
// PATH, and leaves no process behind.
import { execa } from "execa";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect as globalExpect, test as base, vi } from "vitest";
import { isAlive } from "../standins/lib/lima-store.mjs";
import { APPLE_PF_CONF, createSandbox, type Sandbox } from "./harness.js";

// Each CLI call here is a Node process plus stand-in processes (~1 s on 2 busy cores), and a
// test makes several: vitest's 5 s default is a measure of machine load, not of correctness.
vi.setConfig({ testTimeout: 30_000 });

const FIXTURES = new URL("../fixtures/", import.meta.url);
const WEB = `networks:
  - lima: shared
x-limawan: |
  interface en0
  expose http 80 as 8080
`;

const roots: string[] = [];
const test = base.extend<{ sb: Sandbox }>({
  sb: async ({}, use) => {
    const sb = await createSandbox();
    roots.push(sb.paths.root);
    try {
      await use(sb);
    } finally {
      await sb.cleanup();
    }
  },
});

afterAll(async () => {
  const ps = await execa("ps", ["-eo", "pid=,stat=,args="]);
  globalExpect(ps.stdout.split("\n").filter((line) => roots.some((root) => line.includes(root)) && !/^\s*\d+\s+Z/.test(line))).toEqual([]);
  for (const root of roots) globalExpect(existsSync(root)).toBe(false);
});

describe.concurrent("createSandbox", () => {
  test("lays out a macOS-shaped host and points every contract variable at it", async ({ sb, expect }) => {
    expect(readFileSync(sb.paths.pfConf, "utf8")).toBe(APPLE_PF_CONF);
    // Apple's file as it ships: Apple's anchor points in pfctl's order, ending with the load line.
    expect(APPLE_PF_CONF).toMatch(/^scrub-anchor "com\.apple\/\*"\nnat-anchor "com\.apple\/\*"\nrdr-anchor "com\.apple\/\*"\ndummynet-anchor "com\.apple\/\*"\nanchor "com\.apple\/\*"\nload anchor "com\.apple" from "\/etc\/pf\.anchors\/com\.apple"\n$/m);
    expect(readFileSync(path.join(sb.paths.limaHome, "_config/networks.yaml"), "utf8")).toBe(readFileSync(new URL("lima/networks.yaml", FIXTURES), "utf8"));
    expect(sb.env).toMatchObject({
      LIMA_HOME: sb.paths.limaHome,
      LIMAWAN_PF_CONF: sb.paths.pfConf,
      LIMAWAN_STATE_DIR: sb.paths.stateDir,
      LIMAWAN_DHCPD_LEASES: sb.paths.dhcpdLeases,
      LIMAWAN_LAUNCHD_DIR: sb.paths.launchdDir,
      LIMAWAN_PLATFORM: "darwin",
      NO_COLOR: "1",
      PFCTL_STANDIN_STATE: sb.paths.pfctlState,
      SYSCTL_STANDIN_STATE: sb.paths.sysctlState,
      LAUNCHCTL_STANDIN_STATE: sb.paths.launchctlState,
    });
    // On PATH: limactl, which LimaWAN runs as the user from the user's PATH; not the macOS tools.
    const userBin = sb.env.PATH!.split(path.delimiter)[0]!;
    expect(readdirSync(userBin)).toEqual(["limactl"]);
    expect(existsSync(sb.paths.stateDir)).toBe(false); // LimaWAN creates its own state dir
    expect(statSync(sb.paths.launchdDir).isDirectory()).toBe(true);
    if (sb.isRoot) {
      // `limactl limawan` raised through sudo: LimaWAN must run limactl as this user, never as root.
      expect(sb.env).toMatchObject({ SUDO_USER: sb.vmUser!.name, SUDO_UID: String(sb.vmUser!.uid), SUDO_GID: String(sb.vmUser!.gid) });
      expect(statSync(sb.paths.limaHome).uid).toBe(sb.vmUser!.uid);
    }
  });

  test("runs the built CLI with the sandbox environment, never rejecting", async ({ sb, expect }) => {
    const r = await sb.run(["plan", "--no-such-flag"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).not.toBe("");
  });
});

describe.concurrent("VMs through the limactl stand-in", () => {
  test("addInstance + startVm: the CLI finds the VM's leased address; setLease moves it", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    const first = await sb.run(["ip", "web"]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe("192.168.105.2");
    expect(sb.leasedAddress("web")).toBe("192.168.105.2");

    await sb.setLease("web", "192.168.105.42");
    expect((await sb.run(["ip", "web"])).stdout.trim()).toBe("192.168.105.42");
    // The guest agrees, and the next boot keeps the address.
    await sb.stopVm("web");
    await sb.startVm("web");
    expect(sb.leasedAddress("web")).toBe("192.168.105.42");
  });

  test("a lease that has not come yet: `ip` fails, `ip --wait` gets it when it comes", async ({ sb, expect }) => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web", { leaseDelayMs: 60_000 });
    const now = await sb.run(["ip", "web"]);
    expect(now.exitCode).toBe(1);
    expect(now.stderr).toMatch(/no address for `web`/);
    const waiting = sb.run(["ip", "web", "--wait", "20"]);
    await new Promise((r) => setTimeout(r, 300));
    await sb.setLease("web", "192.168.105.23");
    const waited = await waiting;
    expect(waited.exitCode, waited.stderr).toBe(0);
    expect(waited.stdout.trim()).toBe("192.168.105.23");
  });

  test("stopVm and stopVm({ force }) leave the VM Stopped; the CLI sees it", async ({ sb, expect }) => {
    await sb.addInstance("a", WEB);
    await sb.addInstance("b", WEB);
    await sb.startVm("a");
    await sb.startVm("b");
    await sb.stopVm("a");
    await sb.stopVm("b", { force: true });
    const list = await sb.limactl(["list", "--format", "{{.Name}} {{.Status}}"]);
    expect(list.stdout).toBe("a Stopped\nb Stopped");
    const r = await sb.run(["ip", "a"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/`a` is stopped/);
  });
});

describe.concurrent("host readers, the macOS tools' paths and PATH", () => {
  test.runIf(process.getuid?.() === 0)("the CLI's namespace puts the stand-ins where macOS keeps the tools, and only there; their state and call logs read back", async ({ sb, expect }) => {
    const inMacos = (argv: string[]) => {
      const [file, ...args] = sb.inMacos(argv);
      return execa(file!, args, { env: sb.env, extendEnv: false, reject: false });
    };
    expect(sb.sysctlState()["net.inet.ip.forwarding"]).toBe("0");
    expect((await inMacos(["/usr/sbin/sysctl", "-n", "net.inet.ip.forwarding"])).stdout).toBe("0");
    expect(sb.sysctlCalls().map((c) => c.argv)).toEqual([["-n", "net.inet.ip.forwarding"]]);
    expect(sb.launchctlState()).toEqual({ services: {} });
    await inMacos(["/bin/launchctl", "print", "system/dev.limawan.watch"]);
    expect(sb.launchctlCalls()).toMatchObject([{ argv: ["print", "system/dev.limawan.watch"], exitCode: 113 }]);
    expect((await inMacos(["/sbin/route", "-n", "get", "default"])).stdout).toMatch(/interface: en0/);
    expect(sb.pfctlCalls()).toEqual([]);
    // Outside the namespace, the machine's own directories are untouched.
    expect(existsSync("/usr/bin/launchctl")).toBe(false);
    // Root-owned, as root runs only what root owns, whoever owns the checkout.
    const pfctl = await inMacos(["stat", "-c", "%u %a", "/sbin/pfctl"]);
    expect(pfctl.stdout).toBe("0 755");
    sb.removeSystemProgram("pfctl");
    expect((await inMacos(["/sbin/pfctl", "-s", "info"])).exitCode).toBe(127);
  });

  test("pathWithout hides limactl from PATH", async ({ sb, expect }) => {
    const cli = await sb.run(["doctor"], { env: { PATH: sb.pathWithout("limactl") } });
    expect(cli.stdout).toMatch(/limactl not found on PATH/);
  });
});

describe("cleanup", () => {
  test("kills VMs and background commands (with their children) and removes the sandbox", async ({ expect }) => {
    const sb = await createSandbox();
    roots.push(sb.paths.root);
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    const agent = Number(readFileSync(path.join(sb.paths.limaHome, "web/ha.pid"), "utf8"));
    const watch = sb.runBackground(["watch"]);
    let log = "";
    watch.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!/watching Lima instances/.test(log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const group = await execa("ps", ["-o", "pid=", "-g", String(watch.pid)], { reject: false });
    const members = group.stdout.split("\n").map(Number).filter(Boolean);
    expect(members.length).toBeGreaterThanOrEqual(1);
    expect(isAlive(agent)).toBe(true);

    await sb.cleanup();
    expect(isAlive(agent)).toBe(false);
    for (const pid of members) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(sb.paths.root)).toBe(false);
  });
});
