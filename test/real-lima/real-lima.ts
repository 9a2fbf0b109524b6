// The test tier against the real limactl: Lima's own CLI (a Linux build of 2.2.0-153, with its
// templates) in ../shared/lima beside this clone, as CI has it. It checks what the stand-ins can
// only claim: the plugin contract, the list format, what `validate` accepts after LimaWAN's edits,
// the layouts Lima writes, the watch stream. No VM boots here; a stand-in host agent (the one the
// limactl stand-in starts) answers ha.sock for "Running". A clone with nothing beside it skips the
// tier, saying so. Nothing else in the repository reads ../shared.
//
// limactl refuses root (LIMA-FACTS.md §9): as root, everything here runs as an unprivileged user
// (uid/gid 65534, as the e2e harness plays the VMs' owner), with a Lima home of its own.
import { execa, type Result, type ResultPromise } from "execa";
import { spawn } from "node:child_process";
import { accessSync, chmodSync, chownSync, closeSync, constants, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = path.join(REPO, "plugin/bin/limactl-limawan");
export const STANDIN_LIMACTL = path.join(REPO, "test/standins/bin/limactl");
const HOSTAGENT = path.join(REPO, "test/standins/lib/hostagent.mjs");

/** ../shared/lima relative to the repository, as CI (.ci/run) and the worktrees have it. */
const SHARED_LIMA = path.resolve(REPO, "..", "shared", "lima");

function findRealLima(): { bin: string; reason: null } | { bin: null; reason: string } {
  const bin = path.join(SHARED_LIMA, "bin", "limactl");
  // ../shared/lima holds a Linux build (its README); a Mac skips the tier rather than fail on it.
  if (process.platform !== "linux") return { bin: null, reason: `${bin} is a Linux build; this is ${process.platform}` };
  if (!existsSync(bin)) return { bin: null, reason: `no real limactl at ${bin} (a clone with nothing beside it)` };
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    return { bin: null, reason: `${bin} is not executable` };
  }
  // The tier runs limactl, the CLI and the stand-ins as uid 65534 outside any namespace: a
  // checkout (or Lima) it cannot reach is skipped, saying so, not failed test by test. (The e2e
  // sandbox, which has its namespace, reaches a private checkout: test/e2e/harness.ts.)
  const blocked = process.getuid?.() === 0 ? [REPO, bin].map(unreachableBy65534).find(Boolean) : undefined;
  if (blocked) return { bin: null, reason: `uid 65534, who runs this tier, cannot enter ${blocked} (a private checkout or home)` };
  return { bin, reason: null };
}

/** The first directory on the way to `target` that uid/gid 65534 (no other groups) cannot enter, or null. */
function unreachableBy65534(target: string): string | null {
  const parts = path.resolve(target).split(path.sep).filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const dir = path.join(path.sep, ...parts.slice(0, i));
    const info = statSync(dir);
    const bit = info.uid === 65534 ? 0o100 : info.gid === 65534 ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) return dir;
  }
  return null;
}

const found = findRealLima();
/** The real limactl, or null: then every test of the tier is skipped. */
export const REAL_LIMACTL: string | null = found.bin;
/** Why the tier is skipped, for the one line it prints and the skipped suites' names. */
export const SKIPPED_BECAUSE: string | null = found.reason;
/** A suite's name, saying why it is skipped when it is. */
export const tierName = (name: string) => (SKIPPED_BECAUSE ? `${name} (real-lima tier skipped: ${SKIPPED_BECAUSE})` : name);

/** As root, the user every limactl runs as; otherwise whoever runs the tests. */
const AS_ROOT = process.getuid?.() === 0;
export const LIMA_USER = AS_ROOT ? { uid: 65534, gid: 65534 } : null;

/** The host's machine ID, which Lima mixes into derived MAC addresses (pkg/osutil on Linux), or null. */
export function machineId(): string | null {
  for (const file of ["/etc/machine-id", "/var/lib/dbus/machine-id"]) {
    try {
      const id = readFileSync(file, "utf8").trim();
      if (id) return id;
    } catch {
      // not here
    }
  }
  return null;
}

/** A lima.yaml Lima loads here without downloading anything: local images, a socket network. */
export function limaYaml(sandbox: { root: string }, extra = ""): string {
  return `vmType: qemu
images:
- location: ${sandbox.root}/disk.img
  arch: x86_64
- location: ${sandbox.root}/disk-arm.img
  arch: aarch64
networks:
- socket: ${sandbox.root}/vmnet.sock
${extra}`;
}

export interface HostAgent { pid: number; stop(): Promise<void> }

/** A limactl run: awaited for its result, or read and stopped while it runs (`watch`). */
export type LimaRun = ResultPromise & Promise<Result>;

export class RealLimaSandbox {
  readonly root = mkdtempSync(path.join(os.tmpdir(), "limawan-real-"));
  readonly home = path.join(this.root, "home");
  readonly limaHome = path.join(this.home, ".lima");
  readonly env: Record<string, string>;
  private readonly agents: HostAgent[] = [];

  constructor(options: { withLimaHome?: boolean } = {}) {
    chmodSync(this.root, 0o755);
    mkdirSync(this.home, { mode: 0o755 });
    const plugins = path.join(this.root, "plugins");
    mkdirSync(plugins, { mode: 0o755 });
    // As a user installs it: `limactl-limawan` on PATH (npm's bin link is a symlink too).
    symlinkSync(CLI, path.join(plugins, "limactl-limawan"));
    if (options.withLimaHome !== false) mkdirSync(this.limaHome, { mode: 0o755 });
    this.chown(this.home);
    this.env = {
      HOME: this.home,
      LIMA_HOME: this.limaHome,
      PATH: [plugins, path.dirname(REAL_LIMACTL ?? "/nonexistent"), path.dirname(process.execPath), "/usr/bin", "/bin"].join(":"),
      // Nothing here may leave the machine: were Lima to fetch anything, it would ask loopback.
      HTTP_PROXY: "http://127.0.0.1:9",
      HTTPS_PROXY: "http://127.0.0.1:9",
      NO_COLOR: "1",
      // Host agents the tier starts end by themselves if a run dies before cleanup.
      LIMACTL_STANDIN_HOSTAGENT_TTL_MS: "120000",
    };
  }

  /** The real limactl, as the Lima user; never rejects. */
  limactl(args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): LimaRun {
    return this.exec(REAL_LIMACTL!, args, options);
  }

  /** The limactl stand-in on the same Lima home, as the same user. */
  standin(args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): LimaRun {
    const id = machineId();
    return this.exec(STANDIN_LIMACTL, args, { ...options, env: { ...(id ? { LIMACTL_STANDIN_MACHINE_ID: id } : {}), ...options.env } });
  }

  /** Any program, as the Lima user, in this sandbox's environment. */
  exec(program: string, args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): LimaRun {
    return execa(program, [...args], {
      env: { ...this.env, ...options.env },
      extendEnv: false,
      reject: false,
      cwd: this.home,
      timeout: 60_000,
      ...(options.input !== undefined ? { input: options.input } : { stdin: "ignore" as const }),
      ...(LIMA_USER ?? {}),
    });
  }

  /** A file the Lima user owns (written as whoever runs the tests). */
  write(file: string, text: string): void {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, text, { mode: 0o644 });
    this.chown(this.home);
    if (!file.startsWith(this.home)) this.chown(file);
  }

  /** $LIMA_HOME/NAME with its lima.yaml (and lima-version), as `limactl create` leaves it. */
  instance(name: string, yaml: string, version = "v2.2.0-153-g183a60d7"): string {
    const dir = path.join(this.limaHome, name);
    this.write(path.join(dir, "lima.yaml"), yaml);
    this.write(path.join(dir, "lima-version"), version);
    return dir;
  }

  /**
   * The stand-in host agent for NAME, as `limactl start` runs Lima's: as the user, its events on
   * stdout into ha.stdout.log (made anew), its log into ha.stderr.log. It writes ha.pid, serves
   * ha.sock (`GET /v1/info`) and the driver's pid file: the real limactl lists the VM Running.
   */
  async hostAgent(name: string, env: Record<string, string> = {}): Promise<HostAgent> {
    const dir = path.join(env.LIMA_HOME ?? this.limaHome, name);
    for (const log of ["ha.stdout.log", "ha.stderr.log"]) {
      rmSync(path.join(dir, log), { force: true });
      this.write(path.join(dir, log), "");
    }
    const stdout = openSync(path.join(dir, "ha.stdout.log"), "a");
    const stderr = openSync(path.join(dir, "ha.stderr.log"), "a");
    const child = spawn(process.execPath, [HOSTAGENT, "--pidfile", path.join(dir, "ha.pid"), "--socket", path.join(dir, "ha.sock"), name], {
      env: { ...this.env, ...env },
      stdio: ["ignore", stdout, stderr],
      detached: true,
      ...(LIMA_USER ?? {}),
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    closeSync(stdout);
    closeSync(stderr);
    const deadline = Date.now() + 20_000;
    while (!existsSync(path.join(dir, "ha.sock")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const agent: HostAgent = {
      pid: child.pid!,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        await exited;
      },
    };
    this.agents.push(agent);
    return agent;
  }

  chown(target: string): void {
    if (!LIMA_USER) return;
    const walk = (p: string) => {
      try {
        chownSync(p, LIMA_USER.uid, LIMA_USER.gid);
        if (lstatSync(p).isDirectory()) for (const entry of readdirSync(p)) walk(path.join(p, entry));
      } catch (error) {
        // A running host agent replaces its files meanwhile (a temporary file renamed over the
        // state): one listed a moment ago may be gone, and is no longer there to own.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    };
    walk(target);
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.stop().catch(() => undefined)));
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** The count of Lima's "Non-strict YAML" warnings in a command's stderr. */
export function nonStrictWarnings(stderr: string): number {
  return stderr.split("\n").filter((line) => line.includes('msg="Non-strict YAML detected; please check for typos"')).length;
}

/** Lines of JSON a limactl command printed into a pipe. */
export function jsonLines(stdout: string): Array<Record<string, any>> {
  return stdout.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as Record<string, any>);
}
