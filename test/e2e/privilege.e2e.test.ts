// Privilege as it is on a Mac (LIMA-FACTS.md §9): limactl refuses root, so the user types
// `limactl limawan up web` and LimaWAN raises its own privileges through sudo. These tests run
// the built CLI as the VM user, with the sudo stand-in (test/standins/sudo/) on PATH: it really
// runs the command as root, with sudo's reset environment, and refuses what sudo refuses.
import { execa, execaSync } from "execa";
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CLI, createSandbox, ptyScriptArgs, type Sandbox, type SandboxOptions } from "./harness.js";
import { eventually as waitUntil, type Check } from "../eventually.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

vi.setConfig({ testTimeout: 30_000 });

const WEB = `networks:
  - lima: shared
x-limawan: |
  interface en0
  expose http 80 as 8080
`;

let sb: Sandbox;
/** A sandbox with the VM `web` running; `{ vm: false }` for a test that needs no VM (starting one costs as much as several runs). */
async function sandbox(options: SandboxOptions = {}, { vm = true } = {}): Promise<Sandbox> {
  sb = await createSandbox(options);
  if (!vm) return sb;
  await sb.addInstance("web", WEB);
  await sb.startVm("web");
  return sb;
}
afterEach(async () => {
  await sb?.cleanup();
});

const anchorNat = async () => JSON.stringify(await sb.pfState());
const runsAsRoot = process.getuid?.() === 0;

describe.runIf(runsAsRoot)("the user types `limactl limawan …`", () => {
  it("up and down raise their privileges through sudo, passing LIMA_HOME and the overrides as arguments", async () => {
    await sandbox();
    const up = await sb.runAsUser(["up", "web"]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await anchorNat()).toMatch(/port 8080 tag/);
    const [call] = sb.sudoCalls();
    expect(call!.uid).toBe(sb.vmUser!.uid);
    // Absolute node and program, no VAR=value (that needs SETENV), the paths sudo would drop as --env.
    // No terminal in a test: `sudo -n`.
    // The command first, so a sudoers rule can name it.
    expect(call!.argv.slice(0, 5)).toEqual(["-n", "--", process.execPath, expect.stringMatching(/\/plugin\/bin\/limactl-limawan$/), "up"]);
    expect(call!.argv.slice(0, call!.argv.indexOf(process.execPath)).some((a) => /^[A-Za-z_]+=/.test(a))).toBe(false);
    expect(call!.argv).toContain(`LIMA_HOME=${sb.paths.limaHome}`);
    expect(call!.argv).toContain(`LIMAWAN_STATE_DIR=${sb.paths.stateDir}`);
    expect(call!.argv.at(-1)).toBe("web");
    // Written by root, for root only.
    const state = statSync(`${sb.paths.stateDir}/state.json`);
    expect([state.uid, state.mode & 0o777]).toEqual([0, 0o600]);

    const down = await sb.runAsUser(["down", "web"]);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await anchorNat()).not.toMatch(/port 8080 tag/);
    expect(sb.sudoCalls()).toHaveLength(2);
  });

  it("watch run by limactl stops cleanly once limactl is gone: limactl passes no signal on, and sudo stays", async () => {
    await sandbox();
    // limactl's part, played by a shell: it runs the plugin as the user and is then killed alone,
    // as a SIGTERM to limactl (or a closed terminal) does. Its plugin re-runs itself through sudo.
    // In the sandbox's namespace, where sudo is the stand-in at /usr/bin/sudo; its last step
    // execs the shell as the user, so the process killed below is the shell itself.
    const [file, ...argv] = sb.inMacos(["/bin/sh", "-c", '"$0" "$1" watch & wait', process.execPath, CLI], sb.vmUser!);
    const limactl = execa(file!, argv, { env: sb.userEnv, extendEnv: false, reject: false, cwd: path.join(sb.paths.root, "home") });
    const deadline = Date.now() + 20_000;
    while (!/port 8080 tag/.test(await anchorNat()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await anchorNat()).toMatch(/port 8080 tag/); // the root watcher runs
    limactl.kill("SIGKILL");
    // Its output ends when the last process holding it (the root watcher) has exited.
    const result = await Promise.race([limactl, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    expect(result, "the root watcher still runs 10 s after limactl went").not.toBeNull();
    expect(result!.stderr).toMatch(/the process that started it is gone: stopping; rules of running VMs stay in place/);
    expect(await anchorNat()).toMatch(/port 8080 tag/);
    const ps = await execa("ps", ["-eo", "args="]);
    expect(ps.stdout.split("\n").filter((line) => line.includes(sb.paths.limaHome) && / watch\b/.test(line))).toEqual([]);
  });

  it("works on a managed Mac whose sudoers sets a secure_path without Homebrew (no node on it)", async () => {
    await sandbox({ sudoers: { securePath: true } });
    const up = await sb.runAsUser(["up", "web"]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await anchorNat()).toMatch(/port 8080 tag/);
    const down = await sb.runAsUser(["down", "web"]);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await anchorNat()).not.toMatch(/port 8080 tag/);
    const install = await sb.runAsUser(["install"]);
    expect(install.exitCode, install.stderr).toBe(0);
    expect(sb.launchctlState().services["system/dev.limawan.watch"]).toBeDefined();
    // Through the installed copy now (it holds this build): still no node on secure_path needed.
    const again = await sb.runAsUser(["up", "web"]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(sb.sudoCalls().at(-1)!.argv[2]).toBe(`${sb.paths.libexecDir}/limactl-limawan`);
    const uninstall = await sb.runAsUser(["uninstall"]);
    expect(uninstall.exitCode, uninstall.stderr).toBe(0);
    expect(existsSync(sb.paths.libexecDir)).toBe(false);
  });

  it("without a terminal and without a cached password: says what to do, changes nothing", async () => {
    await sandbox({ sudoers: { cachedCredential: false } });
    const up = await sb.runAsUser(["up", "web"]);
    expect(up.exitCode).toBe(3);
    expect(up.stderr).toMatch(/`limactl limawan up` needs root, and sudo cannot ask for a password here \(no terminal\)/);
    expect(up.stderr).toMatch(/Run it in a terminal/);
    expect(sb.sudoCalls()[0]!.argv[0]).toBe("-n");
    expect(await anchorNat()).not.toMatch(/8080/);
  });

  it("in a terminal, sudo may ask: no -n, and sudo speaks to the terminal itself", async () => {
    await sandbox(); // a cached credential: sudo asks nothing, as a minute after typing the password
    // script(1) runs on the pseudo-terminal it makes, as the user, in the CLI's namespace.
    const args = await ptyScriptArgs(sb.inMacos([process.execPath, CLI, "up", "web"], sb.vmUser!).join(" "));
    const tty = await execa("script", args, { env: sb.userEnv, extendEnv: false, cwd: path.join(sb.paths.root, "home"), reject: false });
    expect(tty.exitCode, tty.stdout).toBe(0);
    expect(sb.sudoCalls().at(-1)!.argv.slice(0, 2)).toEqual(["--", process.execPath]);
    expect(await anchorNat()).toMatch(/port 8080 tag/);
    // No cached credential: sudo goes to the terminal for the password (this stand-in can read
    // none and says so there) instead of `sudo -n` refusing.
    sb.setSudoers({ cachedCredential: false });
    const asks = await execa("script", args, { env: sb.userEnv, extendEnv: false, cwd: path.join(sb.paths.root, "home"), reject: false });
    expect(asks.stdout).toMatch(/sudo: this stand-in cannot read a password/);
    expect(asks.stdout).not.toMatch(/a password is required/);
  });

  // One VM for what runs without root, then with --sudo (a started VM costs as much as several runs).
  it("--dry-run never asks sudo, and plan/check/status need no root (status: reading PF needs root); status --sudo reads PF; a missing pfctl is named as missing", async () => {
    await sandbox();
    const dry = await sb.runAsUser(["up", "web", "--dry-run"]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would run: pfctl -a limawan -f -/);
    expect(dry.stderr).toMatch(/pfctl needs root: this dry run assumes nothing of LimaWAN's is applied yet/);
    expect((await sb.runAsUser(["plan", "web"])).exitCode).toBe(0);
    expect((await sb.runAsUser(["check", "web"])).exitCode).toBe(0);
    const status = await sb.runAsUser(["status"]);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^PF: unknown \(reading PF needs root: limactl limawan status --sudo\)$/m);
    expect(sb.sudoCalls()).toEqual([]);

    expect((await sb.runAsUser(["up", "web"])).exitCode).toBe(0);
    const sudo = await sb.runAsUser(["status", "--sudo"]);
    expect(sudo.exitCode, sudo.stderr).toBe(0);
    expect(sudo.stdout).toMatch(/PF: enabled/);
    expect(sudo.stdout).toMatch(/http .* applied/);

    sb.removeSystemProgram("pfctl");
    const missing = await sb.runAsUser(["status"]);
    expect(missing.exitCode, missing.stderr).toBe(0);
    expect(missing.stdout).toMatch(/^PF: unknown \(`pfctl` was not found at \/sbin\/pfctl\)$/m);
  });

  it("no message anywhere tells the user to run `sudo limactl …` (limactl refuses root)", async () => {
    await sandbox({ sudoers: { cachedCredential: false } });
    const outputs = [await sb.runAsUser(["up", "web"]), await sb.runAsUser(["up"]), await sb.runAsUser(["down"]), await sb.runAsUser(["status"]), await sb.runAsUser(["doctor"])];
    for (const r of outputs) expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/sudo (\S*\/)?limactl[ "]/);
    expect(readFileSync(sb.paths.sudoers, "utf8")).toMatch(/"cachedCredential": false/);
  });
});

/** A copy of the built plugin (and of node) owned by the VM user: `npm install -g` into Homebrew's prefix, or a clone. */
function userCheckout(s: Sandbox): { cli: string; node: string } {
  const home = path.join(s.paths.root, "home");
  const checkout = path.join(home, "limawan");
  mkdirSync(path.join(checkout, "plugin/bin"), { recursive: true });
  cpSync(path.join(REPO, "dist/limactl-limawan"), path.join(checkout, "dist/limactl-limawan"), { recursive: true });
  cpSync(path.join(REPO, "plugin/bin"), path.join(checkout, "plugin/bin"), { recursive: true });
  writeFileSync(path.join(checkout, "package.json"), JSON.stringify({ type: "module" }));
  cpSync(process.execPath, path.join(checkout, "node"));
  execaSync("chown", ["-R", `${s.vmUser!.uid}:${s.vmUser!.gid}`, checkout]);
  return { cli: path.join(checkout, "plugin/bin/limactl-limawan"), node: path.join(checkout, "node") };
}

/** The commands of the rule `limactl limawan sudoers` prints (its Cmnd_Alias), as sudoers(5) reads them. */
function sudoersCommands(rule: string): string[] {
  const alias = /^Cmnd_Alias LIMAWAN = (.*)$/m.exec(rule.replace(/\\\n\s*/g, ""));
  if (!alias) throw new Error(`no Cmnd_Alias in:\n${rule}`);
  return alias[1]!.split(/(?<!\\), /);
}

/** Every file under `dir` and `dir` itself: root's, and writable by root only. */
function rootsAlone(dir: string): string[] {
  const wrong: string[] = [];
  const visit = (file: string) => {
    const stats = lstatSync(file);
    if (stats.uid !== 0 || (stats.mode & 0o022) !== 0) wrong.push(`${file} ${stats.uid} ${(stats.mode & 0o777).toString(8)}`);
    if (stats.isDirectory()) for (const entry of readdirSync(file)) visit(path.join(file, entry));
  };
  visit(dir);
  return wrong;
}

describe.runIf(runsAsRoot)("what root runs is root's alone", () => {
  it("install from a user-owned checkout and node puts a root-owned copy of both in place and points launchd at it; uninstall removes it", async () => {
    await sandbox({}, { vm: false });
    const { cli, node } = userCheckout(sb);
    const install = await sb.runAsUser(["install"], { cli, node });
    expect(install.exitCode, install.stderr).toBe(0);
    const libexec = sb.paths.libexecDir;
    expect(rootsAlone(libexec)).toEqual([]);
    // The user's node is copied (root must not run a file the user can rewrite), the bundle too.
    expect(readFileSync(`${libexec}/limactl-limawan`, "utf8")).toMatch(new RegExp(`^exec ${libexec}/node ${libexec}/lib/start.cjs "\\$@"$`, "m"));
    expect(statSync(`${libexec}/node`).size).toBe(statSync(node).size);
    // The code cache is code too: copied with the bundle, root's like it.
    expect(readdirSync(`${libexec}/lib`).sort()).toEqual(["main.cjs", "main.cjs.cache", "package.json", "paths.json", "start.cjs"]);
    const job = sb.launchctlState().services["system/dev.limawan.watch"]!;
    expect([job.program, ...job.arguments.slice(1)]).toEqual([`${libexec}/limactl-limawan`, "watch"]);
    expect(job.arguments[0]).toBe(`${libexec}/limactl-limawan`);
    expect(JSON.stringify(job)).not.toContain(path.dirname(cli)); // nothing of the user's checkout

    const rule = await sb.runAsUser(["sudoers"], { cli, node });
    expect(rule.stdout).toMatch(/^%admin ALL=\(root:wheel\) NOPASSWD: LIMAWAN$/m);
    expect(sudoersCommands(rule.stdout)).toEqual(["up", "down", "start", "status", "doctor", "diagnose", "monitor"].flatMap((c) => [`${libexec}/limactl-limawan ${c}`, `${libexec}/limactl-limawan ${c} *`]));
    expect(rule.stdout).not.toMatch(/SETENV/);

    const uninstall = await sb.runAsUser(["uninstall"], { cli, node });
    expect(uninstall.exitCode, uninstall.stderr).toBe(0);
    expect(existsSync(libexec)).toBe(false);
  });

  it("install copies no link from the user's checkout, and makes nothing root's or world-readable through one", async () => {
    await sandbox({}, { vm: false });
    const { cli, node } = userCheckout(sb);
    // Root's secret, and a link to it planted in the bundle the user's checkout holds.
    const secret = path.join(sb.paths.root, "master.passwd");
    writeFileSync(secret, "root:*:0:0::0:0:System Administrator:/var/root:/bin/sh\n", { mode: 0o600 });
    execaSync("chown", ["1:1", secret]);
    const bundle = path.join(path.dirname(path.dirname(path.dirname(cli))), "dist/limactl-limawan");
    execaSync("ln", ["-s", secret, path.join(bundle, "notes.txt")]);
    execaSync("chown", ["-h", `${sb.vmUser!.uid}:${sb.vmUser!.gid}`, path.join(bundle, "notes.txt")]);
    const install = await sb.runAsUser(["install"], { cli, node });
    expect(install.exitCode).toBe(1);
    expect(install.stderr).toMatch(new RegExp(`refusing to copy ${bundle}/notes\\.txt for root: it is a symbolic link`));
    const after = statSync(secret);
    expect([after.uid, after.gid, after.mode & 0o777]).toEqual([1, 1, 0o600]);
    expect(existsSync(sb.paths.libexecDir)).toBe(false);
    expect(readdirSync(path.dirname(sb.paths.libexecDir)).filter((n) => n.startsWith("limawan"))).toEqual([]);
  });

  it("install again replaces the copy from the user's build (never from the copy itself), and the copy keeps working", async () => {
    await sandbox();
    const { cli, node } = userCheckout(sb);
    expect((await sb.runAsUser(["install"], { cli, node })).exitCode).toBe(0);
    const libexec = sb.paths.libexecDir;
    const again = await sb.runAsUser(["install"], { cli, node });
    expect(again.exitCode, again.stderr).toBe(0);
    // sudo ran the user's program: install makes the copy from the build it is run from.
    expect(sb.sudoCalls().at(-1)!.argv.slice(2, 4)).toEqual([node, cli]);
    expect(rootsAlone(libexec)).toEqual([]);
    expect(statSync(`${libexec}/node`).size).toBe(statSync(node).size);
    // The daemon's program, and sudo through the copy, still run.
    expect(execaSync(`${libexec}/limactl-limawan`, ["--version"], { reject: false }).exitCode).toBe(0);
    const up = await sb.runAsUser(["up", "web"], { cli, node });
    expect(up.exitCode, up.stderr).toBe(0);
    expect(sb.sudoCalls().at(-1)!.argv[2]).toBe(`${libexec}/limactl-limawan`);

    // Run from the copy itself (as a sudoers rule would have it), install copies the copy's node along.
    const [file, ...argv] = sb.inMacos([`${libexec}/limactl-limawan`, "install"]);
    const fromCopy = execaSync(file!, argv, { env: sb.env, extendEnv: false, reject: false });
    expect(fromCopy.exitCode, fromCopy.stderr).toBe(0);
    expect(existsSync(`${libexec}/node`)).toBe(true);
    expect(execaSync(`${libexec}/limactl-limawan`, ["--version"], { reject: false }).exitCode).toBe(0);
    expect((await sb.runAsUser(["uninstall"], { cli, node })).exitCode).toBe(0);
  });

  it("a rebuilt checkout is not the installed copy: up runs the user's build, and doctor says the copy is another build", async () => {
    await sandbox();
    const { cli, node } = userCheckout(sb);
    expect((await sb.runAsUser(["install"], { cli, node })).exitCode).toBe(0);
    const bundle = path.join(path.dirname(path.dirname(path.dirname(cli))), "dist/limactl-limawan/main.cjs");
    writeFileSync(bundle, `${readFileSync(bundle, "utf8")}\n// rebuilt\n`);
    const up = await sb.runAsUser(["up", "web"], { cli, node });
    expect(up.exitCode, up.stderr).toBe(0);
    expect(sb.sudoCalls().at(-1)!.argv.slice(2, 4)).toEqual([node, cli]);
    const doctor = JSON.parse((await sb.runAsUser(["doctor", "--json"], { cli, node })).stdout) as { checks: Array<{ name: string; level: string; detail: string }> };
    expect(doctor.checks.find((c) => c.name === "root's copy")).toMatchObject({ level: "warn", detail: expect.stringMatching(/holds another build of .* than this one/) });
  });

  it("with only the rule `sudoers` prints (no password typed), the user's up and status --sudo run the copy; nothing else runs as root", async () => {
    await sandbox();
    expect((await sb.runAsUser(["install"])).exitCode).toBe(0);
    const launcher = `${sb.paths.libexecDir}/limactl-limawan`;
    sb.setSudoers({ nopasswd: { commands: sudoersCommands((await sb.runAsUser(["sudoers"])).stdout) }, cachedCredential: false });
    const up = await sb.runAsUser(["up", "web"]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await anchorNat()).toMatch(/port 8080 tag/);
    expect(sb.sudoCalls().at(-1)!.argv.slice(0, 4)).toEqual(["-n", "--", launcher, "up"]);
    const status = await sb.runAsUser(["--json", "status", "--sudo"]);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(sb.sudoCalls().at(-1)!.argv.slice(0, 5)).toEqual(["-n", "--", launcher, "status", "--env"]);
    // Nor point the copy's writes at another root-owned directory: it acts on its install's paths.
    const elsewhere = path.join(sb.paths.root, "other-state");
    mkdirSync(elsewhere, { mode: 0o700 });
    const moved = await sb.runAsUser(["up", "web"], { env: { LIMAWAN_STATE_DIR: elsewhere } });
    expect(moved.exitCode, moved.stderr).toBe(3);
    expect(moved.stderr).toMatch(new RegExp(`the root-owned copy acts only on the paths it was installed with: stateDir ${elsewhere} \\(installed with ${sb.paths.stateDir}\\)`));
    expect(readdirSync(elsewhere)).toEqual([]);
    // A process of the user's cannot have root read a file, or remove LimaWAN, without the password.
    const secret = path.join(sb.paths.root, "secret.yaml");
    writeFileSync(secret, "x-limawan: |\n  expose root-only 22 as 2222\n", { mode: 0o600 });
    for (const args of [["plan", secret], ["check", secret], ["uninstall"]]) {
      const [file, ...argv] = sb.inMacos(["/usr/bin/sudo", "-n", "--", launcher, ...args], sb.vmUser!);
      const refused = await execa(file!, argv, { env: sb.userEnv, reject: false });
      expect(refused.exitCode, args.join(" ")).toBe(1);
      expect(refused.stderr).toMatch(/is not allowed to execute/);
    }
    expect(existsSync(launcher)).toBe(true);
  });

  it("the daemon, started exactly as launchd would (the plist's environment only, cwd /, as root), forwards a running VM", async () => {
    await sandbox();
    expect((await sb.runAsUser(["install"])).exitCode).toBe(0);
    const job = sb.launchctlState().services["system/dev.limawan.watch"]!;
    // The plist's environment, plus only the variables that stand for this test Mac's kernel
    // and VMs (the stand-ins' state files): a real pfctl needs no variable to find PF.
    const machine = Object.fromEntries(Object.entries(sb.env).filter(([k]) => /_STANDIN_/.test(k))) as Record<string, string>;
    const [file, ...argv] = sb.inMacos([job.program, ...job.arguments.slice(1)]);
    const daemon = execa(file!, argv, { env: { ...job.environment, ...machine }, extendEnv: false, cwd: "/", reject: false, detached: true, all: true });
    let output = "";
    daemon.all!.on("data", (d: Buffer) => (output += d.toString()));
    try {
      await eventually(async () => /port 8080 tag/.test(await anchorNat()), "the daemon forwarded web").catch((error: Error) => {
        throw new Error(`${error.message}; the daemon said:\n${output}`);
      });
    } finally {
      process.kill(-daemon.pid!, "SIGTERM");
      await daemon;
    }
  });

  it("root refuses state, pf.conf, launchd, lease and copy paths a user could change, and never runs a pfctl found on PATH", async () => {
    await sandbox();
    const userDir = path.join(sb.paths.root, "home", "mine");
    mkdirSync(userDir);
    execaSync("chown", [`${sb.vmUser!.uid}:${sb.vmUser!.gid}`, userDir]);
    for (const [name, value] of [["LIMAWAN_STATE_DIR", userDir], ["LIMAWAN_PF_CONF", path.join(userDir, "pf.conf")], ["LIMAWAN_LAUNCHD_DIR", userDir], ["LIMAWAN_DHCPD_LEASES", path.join(userDir, "leases")], ["LIMAWAN_LIBEXEC_DIR", path.join(userDir, "limawan")]] as const) {
      for (const command of ["up", "install"]) {
        const r = await sb.runAsUser(command === "up" ? ["up", "web"] : [command], { env: { [name]: value } });
        expect(r.exitCode, `${command} ${name}: ${r.stderr}`).toBe(3);
        expect(r.stderr).toMatch(/refusing to act as root on paths a user could change/);
      }
    }
    expect(existsSync(path.join(userDir, "limawan"))).toBe(false);
    // A pfctl early on PATH in a directory the user owns (Homebrew's bin): root runs /sbin/pfctl.
    const pwned = path.join(sb.paths.root, "pwned");
    writeFileSync(path.join(userDir, "pfctl"), `#!/bin/sh\ntouch ${pwned}\n`, { mode: 0o755 });
    execaSync("chown", [`${sb.vmUser!.uid}:${sb.vmUser!.gid}`, path.join(userDir, "pfctl")]);
    const up = await sb.runAsUser(["up", "web"], { env: { PATH: `${userDir}:${sb.userEnv.PATH}` } });
    expect(up.exitCode, up.stderr).toBe(0);
    expect(existsSync(pwned)).toBe(false);
    expect(await anchorNat()).toMatch(/port 8080 tag/);
    expect(sb.pfctlCalls().every((c) => c.euid === 0)).toBe(true);
  });

  it("a user's links to /usr/bin/env in a root-owned sticky directory, first on PATH with scripts beside them: no command the sudoers rule covers runs them as root", { timeout: 90_000 }, async () => {
    await sandbox();
    expect((await sb.runAsUser(["install"])).exitCode).toBe(0);
    sb.setSudoers({ nopasswd: { commands: sudoersCommands((await sb.runAsUser(["sudoers"])).stdout) }, cachedCredential: false });
    // /Users/Shared: root's, sticky, anyone may add to it. The user links every tool's name to
    // env, and puts scripts beside the links named for the first word root gives those tools
    // (`launchctl print …` runs `env print …`, `ifconfig en0` runs `env en0`).
    const shared = path.join(sb.paths.root, "Users/Shared");
    mkdirSync(shared, { recursive: true });
    chmodSync(shared, 0o1777);
    const ran = path.join(sb.paths.root, "ran-as");
    const asUser = (argv: string[]) => execaSync(argv[0]!, argv.slice(1), { uid: sb.vmUser!.uid, gid: sb.vmUser!.gid });
    for (const tool of ["pfctl", "sysctl", "route", "ifconfig", "arp", "launchctl", "ps", "sudo", "visudo"]) asUser(["ln", "-s", "/usr/bin/env", path.join(shared, tool)]);
    for (const word of ["print", "en0", "en1", "lo0", "bridge100", "vmenet0", "get", "info"]) {
      asUser(["sh", "-c", `printf '#!/bin/sh\\nid -u >> ${ran}\\n' > ${path.join(shared, word)} && chmod 755 ${path.join(shared, word)}`]);
    }
    const env = { PATH: `${shared}:${sb.userEnv.PATH}` };
    const launcher = `${sb.paths.libexecDir}/limactl-limawan`;
    // Every command the rule covers, each through the copy without a password.
    for (const args of [["up", "web"], ["status", "--sudo"], ["doctor", "--sudo"], ["diagnose", "web", "--sudo"], ["monitor"], ["start", "web"], ["down", "web"]]) {
      const r = await sb.runAsUser(args, { env });
      expect(sb.sudoCalls().at(-1)!.argv.slice(0, 4), args.join(" ")).toEqual(["-n", "--", launcher, args[0]]);
      expect(sb.sudoCalls().at(-1)!.exitCode, `${args.join(" ")}: ${r.stderr}`).toBe(r.exitCode);
      expect(existsSync(ran), `${args.join(" ")} ran the user's script: ${existsSync(ran) ? readFileSync(ran, "utf8") : ""}`).toBe(false);
    }
    // Root ran the tools from where macOS keeps them: the stand-ins logged each call, as root.
    expect(sb.launchctlCalls().some((c) => c.argv[0] === "print" && c.euid === 0)).toBe(true);
    expect(sb.pfctlCalls().length).toBeGreaterThan(0);
  });

  it("root reads no lima.yaml that is not the user's: one linked to a root-owned file is refused unread", async () => {
    await sandbox();
    const file = `${sb.paths.limaHome}/web/lima.yaml`;
    // World-readable, so that Lima (as the user) lists the instance; root still reads only the user's own.
    const rootFile = path.join(sb.paths.root, "root-owned.conf");
    writeFileSync(rootFile, "networks:\n  - lima: shared\nx-limawan: |\n  api_key hunter2-TOPSECRET\n", { mode: 0o644 });
    execaSync("ln", ["-sf", rootFile, file]);
    const up = await sb.run(["up", "web"]);
    expect(`${up.stdout}${up.stderr}`).not.toMatch(/hunter2/);
    expect(up.stderr).toMatch(new RegExp(`refusing to read ${file}: it belongs to uid 0, not to the user LimaWAN reads it for \\(uid ${sb.vmUser!.uid}\\)`));
    expect(await anchorNat()).not.toMatch(/8080/);
  });

  it("a hand-edited address in the state file never reaches PF", async () => {
    await sandbox();
    expect((await sb.runAsUser(["up", "web"])).exitCode).toBe(0);
    const file = `${sb.paths.stateDir}/state.json`;
    writeFileSync(file, readFileSync(file, "utf8").replace(/"address": "[^"]+"/, '"address": "127.0.0.1"'));
    const up = await sb.runAsUser(["up", "web"]);
    // The record is not trusted: it is moved aside and rebuilt from PF's own rules.
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/state\.json was damaged \(vms\.web\.address: 127\.0\.0\.1 is a loopback address\): moved it aside/);
    expect(await anchorNat()).not.toMatch(/127\.0\.0\.1/);
    expect(await anchorNat()).toMatch(/-> 192\.168\.105\.\d+ port 80/);
  });
});

const eventually = (check: Check, what: string, timeoutMs = 20_000) => waitUntil(check, what, { timeoutMs });

describe.runIf(runsAsRoot)("expose and unexpose edit only the user's own files", () => {
  it("refuse a lima.yaml that links to a file the user does not own, and edit through a link to the user's own", async () => {
    sb = await createSandbox();
    await sb.addInstance("web", WEB);
    const file = `${sb.paths.limaHome}/web/lima.yaml`;
    // Planted: the instance's lima.yaml links to a root-owned file elsewhere.
    const planted = path.join(sb.paths.root, "etc-target.yaml");
    writeFileSync(planted, WEB, { mode: 0o644 });
    execaSync("ln", ["-sf", planted, file]);
    const refused = await sb.runAsUser(["expose", "web", "ssh 22 as 2222"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`refusing to edit ${file}: it links to ${planted}, which belongs to uid 0, not to you \\(uid ${sb.vmUser!.uid}\\)`));
    expect(readFileSync(planted, "utf8")).toBe(WEB);
    // unexpose too; and root (a user's command through sudo) does not even read a file of the
    // Lima home that is not the user's.
    const notYours = new RegExp(`refusing to edit ${file}: it links to ${planted}, which belongs to uid 0, not to you \\(uid ${sb.vmUser!.uid}\\)`);
    const rootWontRead = new RegExp(`refusing to read ${file}: it belongs to uid 0, not to the user LimaWAN reads it for \\(uid ${sb.vmUser!.uid}\\)`);
    for (const [r, message] of [
      [await sb.runAsUser(["unexpose", "web", "http"]), notYours],
      [await sb.run(["unexpose", "web", "http"]), rootWontRead],
      [await sb.run(["expose", "web", "dns 53/udp as 5353"]), rootWontRead],
    ] as const) {
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect(readFileSync(planted, "utf8")).toBe(WEB);
    // The user's own file behind the link: edited there, the link kept.
    const own = path.join(sb.paths.root, "home", "web.yaml");
    writeFileSync(own, WEB);
    execaSync("chown", [`${sb.vmUser!.uid}:${sb.vmUser!.gid}`, own]);
    execaSync("ln", ["-sf", own, file]);
    const edited = await sb.runAsUser(["expose", "web", "ssh 22 as 2222"]);
    expect(edited.exitCode, edited.stderr).toBe(0);
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
    expect(readFileSync(own, "utf8")).toMatch(/expose ssh 22 as 2222/);
    expect(statSync(own).uid).toBe(sb.vmUser!.uid);
  });

  it("expose --sudo writes with the user's rights: root replaces no file in a directory the user cannot write", async () => {
    sb = await createSandbox();
    await sb.addInstance("web", WEB);
    const file = `${sb.paths.limaHome}/web/lima.yaml`;
    // The user's own file, in a directory only root may change (the rename of a new file into it
    // is root's to make): what a directory on the way swapped for a link would lead root into.
    const rootsDir = path.join(sb.paths.root, "roots-dir");
    mkdirSync(rootsDir, { mode: 0o755 });
    const own = path.join(rootsDir, "web.yaml");
    writeFileSync(own, WEB);
    execaSync("chown", [`${sb.vmUser!.uid}:${sb.vmUser!.gid}`, own]);
    execaSync("ln", ["-sf", own, file]);
    const refused = await sb.run(["expose", "web", "ssh 22 as 2222"]); // root, for the user behind sudo
    expect(refused.exitCode, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`cannot write ${file}: EACCES`));
    expect(readFileSync(own, "utf8")).toBe(WEB);
    expect(readdirSync(rootsDir)).toEqual(["web.yaml"]);
    // Theirs to write: edited, and still theirs.
    execaSync("chown", [`${sb.vmUser!.uid}:${sb.vmUser!.gid}`, rootsDir]);
    const edited = await sb.run(["expose", "web", "ssh 22 as 2222"]);
    expect(edited.exitCode, edited.stderr).toBe(0);
    expect(readFileSync(own, "utf8")).toMatch(/expose ssh 22 as 2222/);
    expect([statSync(own).uid, statSync(own).gid]).toEqual([sb.vmUser!.uid, sb.vmUser!.gid]);
    expect(readdirSync(rootsDir)).toEqual(["web.yaml"]);
  });
});
