// End-to-end sandbox: a throw-away macOS-shaped host for the BUILT limactl-limawan. Each sandbox
// has its own $LIMA_HOME (with Lima's networks.yaml and a default.yaml supplying images, as a
// user's _config may), pf.conf holding Apple's default text, lease file, launchd directory and
// state for the stand-ins of test/standins/bin. LimaWAN runs the macOS tools by absolute path
// (/sbin/pfctl, /usr/bin/sudo …), so the CLI runs in a private mount namespace where the
// sandbox's stand-ins are laid over /usr/sbin and /usr/bin (macos-namespace.sh); only limactl,
// which LimaWAN runs as the user from the user's PATH, is found on PATH.
//
// Lima refuses to run as root (LIMA-FACTS §1; `limactl: must not run as the root user` since
// 2.1), and LimaWAN, run with sudo, runs limactl as SUDO_USER. So when the tests run as root the
// sandbox plays `limactl limawan …` raised through sudo: SUDO_USER/SUDO_UID/SUDO_GID name an unprivileged VM
// user who owns $LIMA_HOME, and the harness's own limactl calls run as that user too.
import { execa, execaSync, type Result, type ResultPromise } from "execa";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
// The stand-ins' own model of a Lima instance, its guest and bootpd's lease file.
import { changeAddress, guestNetworks, OVERRIDE_FILE, readGuestState, writeGuestState, type GuestFlood, type GuestService, type GuestSocket } from "../standins/lib/guest.mjs";
import { guestFsRoot, hostPath, readGuestFile } from "../standins/lib/guest-fs.mjs";
import { bootpdMac, leasedAddress, upsertLease } from "../standins/lib/leases.mjs";
import { inspect, isAlive } from "../standins/lib/lima-store.mjs";
import { bundleStandins } from "../standins/bundle.mjs";
import { APPLE_PF_CONF } from "../apple-pf-conf.js";
import { SANDBOX_TIER, skippedTiers } from "../tiers.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = path.join(REPO, "plugin/bin/limactl-limawan");
const BUILT_MAIN = path.join(REPO, "dist/limactl-limawan/main.cjs");
export const STANDIN_BIN = path.join(REPO, "test/standins/bin");
const NAMESPACE = path.join(REPO, "test/e2e/macos-namespace.sh");
/** A stand-in, for a test to run it directly (a service or boot changing the host behind LimaWAN's back). */
export const standin = (program: string): string => path.join(STANDIN_BIN, program);

/** Where macOS keeps each tool LimaWAN runs (plugin/host/run.ts SYSTEM_PROGRAMS), as laid over this machine's. */
export const SYSTEM_STANDINS = { pfctl: "usr/sbin", sysctl: "usr/sbin", route: "usr/sbin", ifconfig: "usr/sbin", arp: "usr/sbin", launchctl: "usr/bin" } as const;
export type SystemStandin = keyof typeof SYSTEM_STANDINS | "sudo";
const PF_INSPECT = path.join(REPO, "test/standins/pfctl/inspect.mjs");
const LIMA_FIXTURES = fileURLToPath(new URL("../fixtures/lima/", import.meta.url));

export { APPLE_PF_CONF };

/** `$LIMA_HOME/_config/default.yaml`: Lima mixes it under every instance, so test lima.yaml files need no `images:`. */
export const DEFAULT_YAML = `# Mixed into every instance by Lima (FillDefault), like a user's own _config/default.yaml.
images:
  - location: "https://cloud-images.ubuntu.com/releases/resolute/release-20260720/ubuntu-26.04-server-cloudimg-arm64.img"
    arch: "aarch64"
  - location: "https://cloud-images.ubuntu.com/releases/resolute/release-20260720/ubuntu-26.04-server-cloudimg-amd64.img"
    arch: "x86_64"
`;

export interface SandboxOptions {
  /** Lima version the limactl stand-in claims (LIMACTL_STANDIN_VERSION; default 2.2.0). 2.0.x has no `watch`. */
  limaVersion?: string;
  /** Write _config/default.yaml with images (default true). Without it lima.yaml must list its own images, as in Lima. */
  defaultImages?: boolean;
  /** When running as root: the unprivileged user who owns the VMs (default uid/gid 65534, name limawan-test). */
  vmUser?: VmUser;
  /** Extra environment for every program the sandbox runs. */
  env?: Record<string, string>;
  /** The sudoers the sudo stand-in enforces for `runAsUser` (see SudoersOptions). */
  sudoers?: SudoersOptions;
}

/**
 * What the test Mac's /etc/sudoers says (test/standins/sudo/main.mjs enforces it). Default: the
 * VM user is an admin (`%admin ALL=(ALL) ALL`, Apple's) who typed the password a minute ago.
 */
export interface SudoersOptions {
  /** A managed Mac's secure_path: the system's directories only (here: stand-ins as binaries, and no node). */
  securePath?: boolean;
  /** The user's sudo credential is cached (a password typed recently); false: sudo would have to ask. */
  cachedCredential?: boolean;
  /** Instead of the ALL rule: NOPASSWD for these absolute commands only (SETENV when `setenv`). */
  nopasswd?: { commands: string[]; setenv?: boolean };
}

export interface VmUser { name: string; uid: number; gid: number }

export interface SandboxPaths {
  root: string;
  limaHome: string;
  pfConf: string;
  stateDir: string;
  dhcpdLeases: string;
  launchdDir: string;
  /** Stand-in state files (JSON) and their call logs (`<file>.calls`, JSON Lines {argv, euid, exitCode, stdout, stderr}). */
  pfctlState: string;
  sysctlState: string;
  launchctlState: string;
  /** The arp stand-in's table (JSON address → MAC): what the Mac's kernel has learnt. */
  arpState: string;
  /** The sudo stand-in's sudoers model (JSON), and its call log beside it. */
  sudoers: string;
  /** Where install puts the root-owned copy of what the daemon runs (LIMAWAN_LIBEXEC_DIR). */
  libexecDir: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  /** Run the CLI as this user instead of the test's (needs root): `{ uid: 65534 }` = not root. */
  uid?: number;
  gid?: number;
  timeoutMs?: number;
}

export interface StartOptions {
  /** Delay between boot and the DHCP lease (LIMACTL_STANDIN_LEASE_DELAY_MS), to exercise --wait. */
  leaseDelayMs?: number;
  /** Delay between the booting and the running event (LIMACTL_STANDIN_BOOT_MS, default 20). */
  bootMs?: number;
  /** The running event says degraded, and `limactl start` fails as Lima's does. */
  degraded?: boolean;
  env?: Record<string, string>;
}

export interface StandinCall { argv: string[]; euid: number | null; exitCode: number; stdout: string; stderr: string; time: string }

export type CliResult = Result<{ reject: false; env: NodeJS.ProcessEnv; extendEnv: false }>;

export interface Sandbox {
  paths: SandboxPaths;
  /** The full environment the CLI runs with (what `limactl limawan`, raised through sudo, sees). */
  env: NodeJS.ProcessEnv;
  /** Whether the tests run as root (then `vmUser` is who limactl runs as). */
  isRoot: boolean;
  vmUser: VmUser | null;
  /** Write $LIMA_HOME/NAME/lima.yaml (+ lima-version) as `limactl create` would, atomically. */
  addInstance(name: string, limaYaml: string): Promise<void>;
  startVm(name: string, options?: StartOptions): Promise<void>;
  stopVm(name: string, options?: { force?: boolean }): Promise<void>;
  /** The limactl stand-in, run as the VM user; never rejects. */
  limactl(args: string[], options?: { env?: Record<string, string>; input?: string }): Promise<Result>;
  /**
   * bootpd now leases `ip` to the VM (networks[index], default 0): the lease file, the running
   * guest's own address and the address of its next boot all say so.
   */
  setLease(name: string, ip: string, options?: { index?: number }): Promise<void>;
  /** The lease file's address for the VM's networks[index] MAC, or null. */
  leasedAddress(name: string, index?: number): string | null;
  macAddress(name: string, index?: number): string;
  /**
   * Change the running guest (test/standins/lib/guest-shell.mjs): `withoutIpv4` names interfaces
   * DHCP left without an address (Lima issue 3100; no default route through them either),
   * `listening` replaces the sockets its daemons open (`[]`: nothing listens), `flood` makes a
   * program print junk instead of answering (`null`: answer again).
   */
  setGuest(name: string, facts: { withoutIpv4?: string[]; listening?: GuestSocket[]; flood?: GuestFlood | null }): void;
  /** A file on the guest's disk (made at its first boot), or null. */
  guestFile(name: string, file: string): string | null;
  /** Write (text) or remove (null) a file on the guest's disk, as the guest's own root would. */
  setGuestFile(name: string, file: string, text: string | null): void;
  /** Each guest service's reloads and restarts since boot, with the configuration it loaded. */
  guestServices(name: string): Record<string, GuestService>;
  /**
   * The built limactl-limawan run as root with SUDO_USER naming the VM user: what a command
   * re-run through sudo is. Never rejects.
   */
  run(args: string[], options?: RunOptions): Promise<CliResult>;
  /**
   * The built limactl-limawan as the VM user types it (`limactl limawan …` runs it as them): the
   * user's environment, the sudo stand-in first on PATH. Needs the tests to run as root. Never rejects.
   */
  runAsUser(args: string[], options?: Omit<RunOptions, "uid" | "gid"> & { node?: string; cli?: string }): Promise<CliResult>;
  /** The user's environment for runAsUser: no SUDO_*, no stand-in knobs a user would not have. */
  userEnv: NodeJS.ProcessEnv;
  /** Rewrite the sudoers the sudo stand-in enforces (an admin editing /etc/sudoers.d). */
  setSudoers(options: SudoersOptions): void;
  /** The sudo stand-in's log: argv, caller uid, exit code, refusal. */
  sudoCalls(): Array<{ argv: string[]; uid: number; exitCode: number; note?: string }>;
  /** A long-running CLI command (watch); killed by cleanup() with its process group. */
  runBackground(args: string[], options?: RunOptions): ResultPromise<{ reject: false }>;
  /** A PATH on which none of `programs` can be found (stand-ins and the system's alike). */
  pathWithout(...programs: string[]): string;
  /** A macOS tool gone from where macOS keeps it (/sbin/pfctl …), for the CLI runs that follow. */
  removeSystemProgram(program: SystemStandin): void;
  /**
   * The command line that runs `argv` as the CLI runs (in the sandbox's mount namespace, as
   * `user` or root): for a test that runs it its own way (on a pseudo-terminal).
   */
  inMacos(argv: string[], user?: { uid: number; gid: number }): string[];
  /**
   * The command line that runs `argv` as the VM user (in the namespace, where the checkout is
   * reachable whatever its parent directories' modes), or as the tests run when they are not root.
   */
  asVmUser(argv: string[]): [string, string[]];
  sysctlState(): Record<string, string>;
  /** The Mac's ARP table learnt `address` at `mac` (null: forgot it). */
  setArp(address: string, mac: string | null): void;
  sysctlCalls(): StandinCall[];
  launchctlState(): { services: Record<string, LaunchdJob> };
  launchctlCalls(): StandinCall[];
  /** The pfctl stand-in's state (via its inspect.mjs when present). */
  pfState(): Promise<unknown>;
  /**
   * What macOS does when a vmnet shared network starts (PF-FACTS.md §4a): Internet Sharing's four
   * references inserted into the loaded main ruleset, each after the rules of its kind. They are
   * in no pf.conf: whoever loads a main ruleset without them cuts the VMs' NAT.
   */
  startInternetSharing(): void;
  /** Change the pfctl stand-in's kernel (connection states, table timestamps) as a test scripts it. */
  editPfState(edit: (state: Record<string, any>) => void): void;
  pfctlCalls(): StandinCall[];
  /** Kill every process the sandbox started (VMs, background commands) and remove it. */
  cleanup(): Promise<void>;
}

export interface LaunchdJob {
  label: string;
  domain: string;
  path: string;
  program: string;
  arguments: string[];
  environment: Record<string, string>;
  state: "running" | "not running";
  pid: number | null;
  runs: number;
}

const DEFAULT_VM_USER: VmUser = { name: "limawan-test", uid: 65534, gid: 65534 };
const live = new Set<SandboxImpl>();

let suidNode: string | null = null;
/**
 * A setuid-root copy of node, for the sudo and bootpd stand-ins' launchers (the kernel honours
 * the setuid bit of a script's interpreter, not the script's own). One per test process, in
 * os.tmpdir()/limawan-sudo-PID, executable by the VM user's group only; removed when the process
 * exits, and copies left by processes that died are removed by the next one.
 */
function setuidNode(gid: number): string {
  if (suidNode) return suidNode;
  for (const entry of readdirSync(os.tmpdir())) {
    const pid = /^limawan-sudo-(\d+)$/.exec(entry)?.[1];
    if (pid && !isAlive(Number(pid))) rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
  }
  const dir = path.join(os.tmpdir(), `limawan-sudo-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: 0o750 });
  chownSync(dir, 0, gid);
  const node = path.join(dir, "node");
  copyFileSync(process.execPath, node);
  chmodSync(node, 0o4755);
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  suidNode = node;
  return node;
}

/** Whether `user` (no supplementary groups, as setpriv runs it) may enter a directory of these modes. */
function mayEnter(info: { uid: number; gid: number; mode: number }, user: { uid: number; gid: number }): boolean {
  const bit = info.uid === user.uid ? 0o100 : info.gid === user.gid ? 0o010 : 0o001;
  return (info.mode & bit) !== 0;
}

const veils = new Map<number, string | null>();
/**
 * The highest directory above the checkout the VM user cannot enter (a clone in /root, in a
 * `mktemp -d`, in a 0700 home), or null. macos-namespace.sh hides it behind an empty tmpfs and
 * binds the checkout back at its own path, in the namespace only. A checkout whose own files the
 * user cannot read (cloned with umask 077) is not fixed that way: the tier stops with one message.
 */
export function checkoutVeil(user: { uid: number; gid: number }): string | null {
  if (veils.has(user.uid)) return veils.get(user.uid)!;
  let veil: string | null = null;
  const parts = REPO.split(path.sep).filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const dir = path.join(path.sep, ...parts.slice(0, i));
    if (!mayEnter(statSync(dir), user)) {
      veil = dir;
      break;
    }
  }
  const unreadable = [REPO, BUILT_MAIN, path.join(STANDIN_BIN, "limactl")].find((file) => {
    const info = statSync(file);
    const bit = info.uid === user.uid ? 0o400 : info.gid === user.gid ? 0o040 : 0o004;
    return (info.mode & bit) === 0 || (info.isDirectory() && !mayEnter(info, user));
  });
  if (unreadable) {
    throw new Error(
      `the e2e sandbox runs the CLI and limactl's stand-in as uid ${user.uid}, who cannot read ${unreadable} (mode ${(statSync(unreadable).mode & 0o777).toString(8)}): ` +
        "the checkout's own files must be readable by others (clone with umask 022, or `chmod -R o+rX` the checkout; its parent directories may stay private).",
    );
  }
  veils.set(user.uid, veil);
  return veil;
}

let noStandins: string | null = null;
/**
 * `argv` run as `user` in a private mount namespace where the checkout is reachable
 * (checkoutVeil), with nothing laid over the system's tools: for a test outside any sandbox that
 * runs a program of the checkout as an unprivileged user (the darwin runner refusing non-root).
 */
export function asUserReachingCheckout(argv: string[], user: { uid: number; gid: number }): string[] {
  if (!noStandins) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "limawan-no-standins-"));
    for (const sub of ["usr/sbin", "usr/bin"]) mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o755 });
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    noStandins = dir;
  }
  return ["unshare", "--mount", "--propagation", "private", "/bin/sh", NAMESPACE, noStandins, String(user.uid), String(user.gid), checkoutVeil(user) ?? "-", REPO, "--", ...argv];
}

function requireBuild(): void {
  if (!existsSync(BUILT_MAIN)) {
    throw new Error(`${BUILT_MAIN} is missing: run \`npm run build\` first (\`npm test\` does) — the e2e tests drive the built CLI.`);
  }
}

/**
 * script(1)'s arguments to run `command` through /bin/sh on a pseudo-terminal: util-linux's flags
 * where `script --version` answers (Linux), BSD's otherwise (macOS; `-t 0` flushes at once).
 */
export async function ptyScriptArgs(command: string): Promise<string[]> {
  const utilLinux = (await execa("script", ["--version"], { reject: false })).exitCode === 0;
  return utilLinux ? ["-qfec", command, "/dev/null"] : ["-q", "-t", "0", "/dev/null", "/bin/sh", "-c", command];
}

export async function createSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const [unavailable] = skippedTiers(process.platform, [SANDBOX_TIER]);
  if (unavailable) throw new Error(`the e2e sandbox cannot run here: ${unavailable.reason}`);
  // The servers of root's calls and of the VM user's (limactl's): each answers only its own user.
  const vmUser = process.getuid?.() === 0 ? (options.vmUser ?? DEFAULT_VM_USER) : null;
  bundleStandins(); // limactl's own starts and the host agents, from one file each (LIMACTL_STANDIN_BUNDLED)
  const servers = [await standinServer(), ...(vmUser ? [await standinServer(vmUser)] : [])];
  const sandbox = new SandboxImpl(options, servers.join(","));
  live.add(sandbox);
  return sandbox;
}

/**
 * test/standins/server.mjs, one per test worker and user: the stand-ins' bin/ scripts hand it
 * each call of this user's (or of `user`, run as them in a namespace reaching the checkout: the
 * VM user's limactl calls) instead of starting node (MACOS_STANDIN_SERVER=PORT:TOKEN:UID, a
 * sandbox's list of them joined by commas). It exits when this process does (its stdin closes).
 */
const servers = new Map<number | "self", Promise<string>>();
export function standinServer(user?: { uid: number; gid: number }): Promise<string> {
  const key = user?.uid ?? "self";
  const running = servers.get(key);
  if (running) return running;
  const server = new Promise<string>((resolve, reject) => {
    const token = randomBytes(16).toString("hex");
    const argv = [process.execPath, path.join(REPO, "test/standins/server.mjs")];
    const [file, ...args] = user ? asUserReachingCheckout(argv, user) : argv;
    const child = spawn(file!, args, { env: { ...process.env, STANDIN_SERVER_TOKEN: token }, stdio: ["pipe", "pipe", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the stand-in server exited (${code}) before it listened`)));
    child.stdout.once("data", (chunk: Buffer) => {
      const [port, uid] = chunk.toString().trim().split(":");
      resolve(`${port}:${token}:${uid}`);
    });
    child.unref();
    for (const stream of [child.stdin, child.stdout] as unknown as { unref(): void }[]) stream.unref();
  });
  servers.set(key, server);
  return server;
}

// A crashed test file must not leave host agents or watchers behind.
process.once("exit", () => {
  for (const sandbox of live) sandbox.killEverythingSync();
});

class SandboxImpl implements Sandbox {
  readonly paths: SandboxPaths;
  readonly env: NodeJS.ProcessEnv;
  readonly isRoot = process.getuid?.() === 0;
  readonly vmUser: VmUser | null;
  private readonly background: ResultPromise[] = [];
  private cleaned = false;

  constructor(options: SandboxOptions, standinServer: string) {
    const root = mkdtempSync(path.join(os.tmpdir(), "limawan-e2e-"));
    chmodSync(root, 0o755); // the VM user must reach $LIMA_HOME
    this.vmUser = this.isRoot ? (options.vmUser ?? DEFAULT_VM_USER) : null;
    const standin = path.join(root, "standin");
    this.paths = {
      root,
      limaHome: path.join(root, "lima"),
      pfConf: path.join(root, "etc/pf.conf"),
      stateDir: path.join(root, "var/db/limawan"), // LimaWAN creates it
      dhcpdLeases: path.join(root, "var/db/dhcpd_leases"), // bootpd (here: the VMs' host agents) creates it
      launchdDir: path.join(root, "Library/LaunchDaemons"),
      pfctlState: path.join(standin, "pfctl.json"),
      sysctlState: path.join(standin, "sysctl.json"),
      launchctlState: path.join(standin, "launchctl.json"),
      arpState: path.join(standin, "arp.json"),
      sudoers: path.join(standin, "sudoers.json"),
      libexecDir: path.join(root, "usr/local/libexec/limawan"),
    };
    for (const dir of [path.join(this.paths.limaHome, "_config"), path.dirname(this.paths.pfConf), path.dirname(this.paths.dhcpdLeases), this.paths.launchdDir, standin]) {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
    }
    copyFileSync(path.join(LIMA_FIXTURES, "networks.yaml"), path.join(this.paths.limaHome, "_config/networks.yaml"));
    this.writeSystemStandins();
    if (options.defaultImages !== false) writeFileSync(path.join(this.paths.limaHome, "_config/default.yaml"), DEFAULT_YAML);
    writeFileSync(this.paths.pfConf, APPLE_PF_CONF, { mode: 0o644 });
    for (const state of [this.paths.pfctlState, this.paths.sysctlState, this.paths.launchctlState, this.paths.arpState]) {
      writeFileSync(`${state}.calls`, "", { mode: 0o666 });
      chmodSync(`${state}.calls`, 0o666); // non-root calls log too
    }
    // bootpd is root's: the lease file and its directory stay root's, written through a setuid
    // launcher (below) when the VMs' host agents, which run as the VM user, lease an address.
    if (this.vmUser) this.chownTree(this.paths.limaHome);

    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !/^(LIMA_|LIMAWAN_|[A-Z]+_STANDIN_|SUDO_|_LIMA_)/.test(key)),
    );
    this.env = {
      ...inherited,
      // limactl only: LimaWAN finds nothing else on PATH (the macOS tools are where macOS keeps them).
      PATH: [this.userBin(), process.env.PATH ?? ""].filter(Boolean).join(path.delimiter),
      LIMA_HOME: this.paths.limaHome,
      LIMAWAN_PF_CONF: this.paths.pfConf,
      LIMAWAN_STATE_DIR: this.paths.stateDir,
      LIMAWAN_DHCPD_LEASES: this.paths.dhcpdLeases,
      LIMAWAN_LAUNCHD_DIR: this.paths.launchdDir,
      LIMAWAN_LIBEXEC_DIR: this.paths.libexecDir,
      LIMAWAN_PLATFORM: "darwin",
      NO_COLOR: "1",
      PFCTL_STANDIN_STATE: this.paths.pfctlState,
      SYSCTL_STANDIN_STATE: this.paths.sysctlState,
      LAUNCHCTL_STANDIN_STATE: this.paths.launchctlState,
      ARP_STANDIN_STATE: this.paths.arpState,
      MACOS_STANDIN_SERVER: standinServer,
      // Host agents outliving a crashed test run stop by themselves.
      LIMACTL_STANDIN_HOSTAGENT_TTL_MS: "300000",
      LIMACTL_STANDIN_BUNDLED: "1",
      ...(options.limaVersion ? { LIMACTL_STANDIN_VERSION: options.limaVersion } : {}),
      ...(this.vmUser ? { SUDO_USER: this.vmUser.name, SUDO_UID: String(this.vmUser.uid), SUDO_GID: String(this.vmUser.gid) } : {}),
      ...(this.isRoot ? { LIMACTL_STANDIN_BOOTPD: this.writeBootpd() } : {}),
      ...options.env,
    };
    const { SUDO_USER: _u, SUDO_UID: _i, SUDO_GID: _g, ...userEnv } = this.env;
    this.userEnv = { ...userEnv, HOME: path.join(root, "home") };
    if (this.isRoot) this.writeSudo(options.sudoers ?? {});
  }

  readonly userEnv: NodeJS.ProcessEnv;

  /** The stand-ins of the macOS tools, laid over /usr/sbin and /usr/bin in the CLI's namespace. */
  private get systemDir(): string {
    return path.join(this.paths.root, "macos");
  }

  /**
   * Root-owned launchers (a checkout may be anyone's; root runs only what root owns), which
   * find node wherever the machine keeps it: a stand-in is a test's program, not LimaWAN's.
   */
  private writeSystemStandins(): void {
    for (const [tool, dir] of Object.entries(SYSTEM_STANDINS)) {
      mkdirSync(path.join(this.systemDir, dir), { recursive: true, mode: 0o755 });
      // What bin/TOOL does, without an exec of it: one shell per call instead of two.
      writeFileSync(path.join(this.systemDir, dir, tool), `#!/bin/bash
PATH=${path.dirname(process.execPath)}:$PATH
. "${path.join(STANDIN_BIN, "../lib/served.bash")}" ${tool} "$@"
`, { mode: 0o755 });
    }
  }

  removeSystemProgram(program: SystemStandin): void {
    const dir = program === "sudo" ? "usr/bin" : SYSTEM_STANDINS[program];
    rmSync(path.join(this.systemDir, dir, program));
  }

  /** The user's own programs: limactl (the stand-in), and node for `#!/usr/bin/env node`. */
  private userBin(): string {
    const bin = path.join(this.paths.root, "user-bin");
    if (!existsSync(bin)) {
      mkdirSync(bin, { mode: 0o755 });
      symlinkSync(path.join(STANDIN_BIN, "limactl"), path.join(bin, "limactl"));
    }
    return bin;
  }

  inMacos(argv: string[], user?: { uid: number; gid: number }): string[] {
    if (!this.isRoot) throw new Error("the CLI's mount namespace needs the tests to run as root");
    const veil = this.vmUser ? checkoutVeil(this.vmUser) : null;
    return ["unshare", "--mount", "--propagation", "private", "/bin/sh", NAMESPACE, this.systemDir, String(user?.uid ?? 0), String(user?.gid ?? 0), veil ?? "-", REPO, "--", ...argv];
  }

  /** execa's file and arguments for the CLI run as `user` (null: as the tests run) in the namespace. */
  private cli(argv: string[], user: { uid: number; gid: number } | null): [string, string[]] {
    if (!this.isRoot) return [process.execPath, argv.slice(1)];
    const [file, ...args] = this.inMacos(argv, user ?? undefined);
    return [file!, args];
  }

  /** bootpd for the stand-in host agents: a setuid-root launcher that writes one lease as root. */
  private writeBootpd(): string {
    const bin = path.join(this.paths.root, "bootpd-bin");
    mkdirSync(bin, { mode: 0o755 });
    const launcher = path.join(bin, "bootpd-lease");
    writeFileSync(
      launcher,
      `#!${setuidNode(this.vmUser!.gid)}
import { upsertLease } from ${JSON.stringify(path.join(REPO, "test/standins/lib/leases.mjs"))};
process.setuid(0);
const [file, request] = process.argv.slice(2);
process.stdout.write(upsertLease(file, JSON.parse(request)) + "\\n");
`,
      { mode: 0o755 },
    );
    return launcher;
  }

  /**
   * The sudo stand-in for runAsUser: a launcher run by a setuid-root copy of node, so the
   * command really runs as root, as under sudo; and the sudoers it enforces (root-owned, as
   * /etc/sudoers). Stand-in state variables are kept across the reset (an env_keep the test rig
   * adds); LIMA_HOME and LIMAWAN_* are not: LimaWAN must pass them itself.
   */
  private writeSudo(options: SudoersOptions): void {
    const bin = path.join(this.systemDir, "usr/bin");
    mkdirSync(path.join(this.paths.root, "home"), { mode: 0o755 });
    chownSync(path.join(this.paths.root, "home"), this.vmUser!.uid, this.vmUser!.gid);
    const launcher = path.join(bin, "sudo");
    writeFileSync(
      launcher,
      `#!${setuidNode(this.vmUser!.gid)}
import { main } from ${JSON.stringify(path.join(REPO, "test/standins/sudo/main.mjs"))};
await main(${JSON.stringify(this.paths.sudoers)}, process.argv.slice(2));
`,
      { mode: 0o755 },
    );
    this.setSudoers(options);
    writeFileSync(`${this.paths.sudoers}.calls`, "", { mode: 0o666 });
    chmodSync(`${this.paths.sudoers}.calls`, 0o666);
  }

  setSudoers(options: SudoersOptions): void {
    const envKeep = Object.keys(this.env).filter((k) => /^[A-Z]+_STANDIN_/.test(k));
    let securePath: string | null = null;
    if (options.securePath) {
      // A managed Mac's secure_path: system directories, no Homebrew, so no node on it (here,
      // where node is /usr/bin/node, an empty directory stands for them).
      const system = path.join(this.paths.root, "secure-bin");
      mkdirSync(system, { mode: 0o755, recursive: true });
      securePath = system;
    }
    const rules = options.nopasswd
      ? [{ uid: this.vmUser!.uid, commands: options.nopasswd.commands, nopasswd: true, setenv: options.nopasswd.setenv ?? false }]
      : [{ uid: this.vmUser!.uid, commands: "ALL", nopasswd: false }];
    writeFileSync(this.paths.sudoers, JSON.stringify({ rules, securePath, envKeep, cachedCredential: options.cachedCredential ?? true }, null, 2), { mode: 0o644 });
  }

  private chownTree(target: string, recursive = true): void {
    if (!this.vmUser) return;
    chownSync(target, this.vmUser.uid, this.vmUser.gid);
    if (recursive && statSync(target).isDirectory()) for (const entry of readdirSync(target)) this.chownTree(path.join(target, entry));
  }

  async addInstance(name: string, limaYaml: string): Promise<void> {
    const dir = path.join(this.paths.limaHome, name);
    if (existsSync(dir)) throw new Error(`instance ${name} already exists in the sandbox`);
    // Built under a dot-name (Lima skips those), then renamed: nothing ever sees a half-made instance.
    const building = path.join(this.paths.limaHome, `.building-${name}`);
    mkdirSync(building, { mode: 0o755 });
    writeFileSync(path.join(building, "lima.yaml"), limaYaml, { mode: 0o644 });
    writeFileSync(path.join(building, "lima-version"), this.env.LIMACTL_STANDIN_VERSION ?? "2.2.0", { mode: 0o644 });
    this.chownTree(building);
    renameSync(building, dir);
  }

  asVmUser(argv: string[]): [string, string[]] {
    // In the namespace: there the VM user reaches the checkout (checkoutVeil), and so do the
    // host agents a `limactl start` leaves running.
    const [file, ...rest] = this.vmUser ? this.inMacos(argv, this.vmUser) : argv;
    return [file!, rest];
  }

  async limactl(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Result> {
    const input = options.input !== undefined ? { input: options.input } : {};
    return execa(...this.asVmUser([path.join(STANDIN_BIN, "limactl"), ...args]), { env: { ...this.env, ...options.env }, extendEnv: false, reject: false, ...input });
  }

  async startVm(name: string, options: StartOptions = {}): Promise<void> {
    const env: Record<string, string> = { ...options.env };
    if (options.leaseDelayMs !== undefined) env.LIMACTL_STANDIN_LEASE_DELAY_MS = String(options.leaseDelayMs);
    if (options.bootMs !== undefined) env.LIMACTL_STANDIN_BOOT_MS = String(options.bootMs);
    if (options.degraded) env.LIMACTL_STANDIN_DEGRADED = "1";
    const result = await this.limactl(["start", name], { env });
    if (result.exitCode !== 0 && !options.degraded) throw new Error(`limactl start ${name} failed (exit ${result.exitCode}):\n${result.stderr}`);
  }

  async stopVm(name: string, options: { force?: boolean } = {}): Promise<void> {
    const result = await this.limactl(["stop", ...(options.force ? ["-f"] : []), name]);
    if (result.exitCode !== 0) throw new Error(`limactl stop ${options.force ? "-f " : ""}${name} failed (exit ${result.exitCode}):\n${result.stderr}`);
  }

  private instance(name: string): NonNullable<ReturnType<typeof inspect>> {
    const inst = inspect(this.paths.limaHome, name);
    if (!inst?.config) throw new Error(`no usable instance ${name} in the sandbox${inst?.errors?.length ? `: ${inst.errors.join("; ")}` : ""}`);
    return inst;
  }

  macAddress(name: string, index = 0): string {
    const nw = this.instance(name).networks[index];
    if (!nw) throw new Error(`${name} has no networks[${index}]`);
    return nw.macAddress;
  }

  setGuest(name: string, facts: { withoutIpv4?: string[]; listening?: GuestSocket[]; flood?: GuestFlood | null }): void {
    const dir = path.join(this.paths.limaHome, name);
    const state = readGuestState(dir);
    if (!state?.booted) throw new Error(`${name} has not booted: start it first`);
    const { flood, ...rest } = facts;
    const next = { ...state, ...rest };
    if (flood === null) delete next.flood;
    else if (flood) next.flood = flood;
    writeGuestState(dir, next);
    this.chownTree(path.join(dir, "standin-guest.json"));
  }

  guestFile(name: string, file: string): string | null {
    return readGuestFile(guestFsRoot(path.join(this.paths.limaHome, name)), file);
  }

  setGuestFile(name: string, file: string, text: string | null): void {
    const root = guestFsRoot(path.join(this.paths.limaHome, name));
    if (!existsSync(root)) throw new Error(`${name}'s disk is made at its first boot: start it first`);
    const target = hostPath(root, file);
    if (!target) throw new Error(`not an absolute guest path: ${file}`);
    if (text === null) {
      rmSync(target, { force: true });
      return;
    }
    const created = path.relative(root, target).split(path.sep).slice(0, -1);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text, { mode: 0o644 });
    // The stand-in guest runs as the VM user: what the test made must stay its to change.
    for (let i = 1; i <= created.length; i++) this.chownTree(path.join(root, ...created.slice(0, i)), false);
    this.chownTree(target);
  }

  guestServices(name: string): Record<string, GuestService> {
    return readGuestState(path.join(this.paths.limaHome, name))?.services ?? {};
  }

  leasedAddress(name: string, index = 0): string | null {
    return leasedAddress(this.paths.dhcpdLeases, this.macAddress(name, index));
  }

  async setLease(name: string, ip: string, options: { index?: number } = {}): Promise<void> {
    const index = options.index ?? 0;
    const inst = this.instance(name);
    const nw = guestNetworks(this.paths.limaHome, inst)[index];
    if (!nw) throw new Error(`${name} has no networks[${index}]`);
    const overrideFile = path.join(inst.dir, OVERRIDE_FILE);
    const lines = existsSync(overrideFile) ? readFileSync(overrideFile, "utf8").split("\n") : [];
    while (lines.length <= index) lines.push("");
    lines[index] = ip;
    writeFileSync(overrideFile, lines.join("\n").replace(/\n*$/, "\n"), { mode: 0o644 });
    this.chownTree(overrideFile);
    if (nw.kind === "leased") {
      upsertLease(this.paths.dhcpdLeases, { hostname: inst.hostname, mac: nw.mac, address: ip, network: nw.network });
    }
    changeAddress(this.paths.limaHome, inst, index, ip, null);
  }

  async run(args: string[], options: RunOptions = {}): Promise<CliResult> {
    requireBuild();
    const [file, argv] = this.cli([process.execPath, CLI, ...args], this.runAs(options));
    return execa(file, argv, { ...this.cliOptions(options), timeout: options.timeoutMs ?? 60_000 }) as Promise<CliResult>;
  }

  async runAsUser(args: string[], options: Omit<RunOptions, "uid" | "gid"> & { node?: string; cli?: string } = {}): Promise<CliResult> {
    requireBuild();
    if (!this.isRoot || !this.vmUser) throw new Error("runAsUser needs the tests to run as root (the VM user is another account)");
    const [file, argv] = this.cli([options.node ?? process.execPath, options.cli ?? CLI, ...args], this.vmUser);
    return execa(file, argv, {
      env: { ...this.userEnv, ...options.env } as NodeJS.ProcessEnv,
      extendEnv: false,
      reject: false,
      cwd: path.join(this.paths.root, "home"),
      ...(options.input !== undefined ? { input: options.input } : {}),
      timeout: options.timeoutMs ?? 60_000,
    }) as Promise<CliResult>;
  }

  sudoCalls(): Array<{ argv: string[]; uid: number; exitCode: number; note?: string }> {
    const text = existsSync(`${this.paths.sudoers}.calls`) ? readFileSync(`${this.paths.sudoers}.calls`, "utf8") : "";
    return text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as { argv: string[]; uid: number; exitCode: number; note?: string });
  }

  runBackground(args: string[], options: RunOptions = {}): ResultPromise<{ reject: false }> {
    // Its own process group, so cleanup() also reaches the `limactl watch` it spawns. Output is
    // buffered (and readable live on .stdout/.stderr) so a chatty command never blocks on a full pipe.
    requireBuild();
    const [file, argv] = this.cli([process.execPath, CLI, ...args], this.runAs(options));
    const subprocess = execa(file, argv, { ...this.cliOptions(options), detached: true });
    this.background.push(subprocess);
    return subprocess as ResultPromise<{ reject: false }>;
  }

  private runAs(options: RunOptions): { uid: number; gid: number } | null {
    if ((options.uid !== undefined || options.gid !== undefined) && !this.isRoot) throw new Error("run({ uid }) needs the tests to run as root");
    return options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : null;
  }

  private cliOptions(options: RunOptions) {
    return {
      env: { ...this.env, ...options.env } as NodeJS.ProcessEnv,
      extendEnv: false as const,
      reject: false as const,
      ...(options.input !== undefined ? { input: options.input } : {}),
    };
  }

  pathWithout(...programs: string[]): string {
    const dir = path.join(this.paths.root, `path-without-${programs.join("-")}`);
    if (!existsSync(dir)) {
      mkdirSync(dir, { mode: 0o755 });
      if (!programs.includes("limactl")) symlinkSync(path.join(STANDIN_BIN, "limactl"), path.join(dir, "limactl"));
      // The stand-ins are `#!/usr/bin/env node` scripts: keep node findable whatever is dropped.
      symlinkSync(process.execPath, path.join(dir, "node"));
    }
    const rest = (process.env.PATH ?? "").split(path.delimiter).filter((d) => d && !programs.some((p) => existsSync(path.join(d, p))));
    return [dir, ...rest].join(path.delimiter);
  }

  private readJson<T>(file: string, fallback: T): T {
    try {
      return JSON.parse(readFileSync(file, "utf8")) as T;
    } catch {
      return fallback;
    }
  }

  private calls(stateFile: string): StandinCall[] {
    const text = existsSync(`${stateFile}.calls`) ? readFileSync(`${stateFile}.calls`, "utf8") : "";
    return text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as StandinCall);
  }

  setArp(address: string, mac: string | null): void {
    const table = this.readJson<Record<string, string>>(this.paths.arpState, {});
    if (mac === null) delete table[address];
    else table[address] = mac;
    writeFileSync(this.paths.arpState, JSON.stringify(table));
  }

  sysctlState(): Record<string, string> {
    return this.readJson(this.paths.sysctlState, { "net.inet.ip.forwarding": "0", "net.inet6.ip6.forwarding": "0", "kern.ostype": "Darwin" });
  }

  sysctlCalls(): StandinCall[] {
    return this.calls(this.paths.sysctlState);
  }

  launchctlState(): { services: Record<string, LaunchdJob> } {
    return this.readJson(this.paths.launchctlState, { services: {} });
  }

  launchctlCalls(): StandinCall[] {
    return this.calls(this.paths.launchctlState);
  }

  startInternetSharing(): void {
    this.editPfState((state) => {
      const main = state.main as { normalization: string[]; translation: string[]; filtering: string[] };
      main.normalization.push('scrub-anchor "com.apple.internet-sharing" all fragment reassemble');
      const dummynet = main.translation.findIndex((r) => r.startsWith("dummynet-anchor"));
      main.translation.splice(dummynet < 0 ? main.translation.length : dummynet, 0, 'nat-anchor "com.apple.internet-sharing" all', 'rdr-anchor "com.apple.internet-sharing" all');
      main.filtering.push('anchor "com.apple.internet-sharing" all');
    });
  }

  editPfState(edit: (state: Record<string, any>) => void): void {
    // The stand-in writes its state on first use: ask it something first.
    if (!existsSync(this.paths.pfctlState)) execaSync(path.join(STANDIN_BIN, "pfctl"), ["-s", "info"], { env: this.env, extendEnv: false });
    const state = JSON.parse(readFileSync(this.paths.pfctlState, "utf8")) as Record<string, any>;
    edit(state);
    writeFileSync(this.paths.pfctlState, JSON.stringify(state, null, 2));
  }

  async pfState(): Promise<unknown> {
    if (existsSync(PF_INSPECT)) {
      const inspectModule = (await import(PF_INSPECT)) as Record<string, unknown>;
      const reader = (inspectModule.readState ?? inspectModule.inspect ?? inspectModule.default) as ((file: string) => unknown) | undefined;
      if (typeof reader === "function") return reader(this.paths.pfctlState);
    }
    // TODO: once test/standins/pfctl/inspect.mjs exists, use its reader only (it knows the format).
    return this.readJson(this.paths.pfctlState, null);
  }

  pfctlCalls(): StandinCall[] {
    return this.calls(this.paths.pfctlState);
  }

  /** PIDs of host agents (ha.pid, and the driver pid files, which hold the same process). */
  private vmPids(): number[] {
    const pids = new Set<number>();
    if (!existsSync(this.paths.limaHome)) return [];
    for (const name of readdirSync(this.paths.limaHome)) {
      const dir = path.join(this.paths.limaHome, name);
      if (!statSync(dir).isDirectory()) continue;
      for (const file of ["ha.pid", "vz.pid", "qemu.pid"]) {
        try {
          const pid = Number.parseInt(readFileSync(path.join(dir, file), "utf8"), 10);
          // Never this test process or its parent, whatever a test wrote into a pid file.
          if (Number.isInteger(pid) && pid > 1 && pid !== process.pid && pid !== process.ppid) pids.add(pid);
        } catch {
          // not running
        }
      }
    }
    return [...pids];
  }

  killEverythingSync(): void {
    for (const subprocess of this.background) {
      if (subprocess.pid === undefined) continue;
      try {
        process.kill(-subprocess.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    for (const pid of this.vmPids()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    // Background commands first (a watcher must not react to the VMs going away), gently, then hard.
    for (const subprocess of this.background) {
      if (subprocess.pid === undefined) continue;
      try {
        process.kill(-subprocess.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    await Promise.race([Promise.allSettled(this.background), sleep(2_000)]);
    const pids = this.vmPids();
    this.killEverythingSync();
    await Promise.allSettled(this.background);
    const deadline = Date.now() + 3_000;
    while (pids.some((pid) => isAlive(pid)) && Date.now() < deadline) await sleep(10);
    live.delete(this);
    rmSync(this.paths.root, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The MAC as bootpd writes it into the lease file (octets without leading zeros). */
export { bootpdMac };
