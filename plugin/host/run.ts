// Runs host programs: the macOS tools by absolute path (SYSTEM_PROGRAMS), limactl from the
// user's PATH, as the user. Read-only calls always run; calls that change the host go through
// `change`, which in --dry-run mode prints the exact command (and its stdin) instead of running it.
import type { ResultPromise } from "execa";
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";
import { CliError, EXIT } from "../errors.js";
import { trustProblem } from "./trust.js";

export interface CommandResult { exitCode: number; stdout: string; stderr: string }

/**
 * The macOS programs LimaWAN runs, where macOS keeps them. Never looked up on PATH: Apple's
 * sudoers keeps the caller's PATH (LIMA-FACTS.md §9), so a PATH lookup as root would let any
 * process of the user's choose what root runs — `/Users/Shared/launchctl` linked to
 * /usr/bin/env runs the user's script as root.
 */
export const SYSTEM_PROGRAMS = {
  pfctl: "/sbin/pfctl",
  sysctl: "/usr/sbin/sysctl",
  route: "/sbin/route",
  ifconfig: "/sbin/ifconfig",
  arp: "/usr/sbin/arp",
  launchctl: "/bin/launchctl",
  sudo: "/usr/bin/sudo",
} as const;
export type SystemProgram = keyof typeof SYSTEM_PROGRAMS;
/** What a Runner runs: a macOS tool, or Lima's CLI (the one program found on PATH, run as the user). */
export type Program = SystemProgram | "limactl";

export interface RunOptions {
  input?: string;
  /** Run as the invoking (sudo) user, with their LIMA_HOME: Lima refuses to run as root. */
  asUser?: boolean;
  timeoutMs?: number;
}

export interface Runner {
  readonly dryRun: boolean;
  /** A query: runs even in dry-run. */
  run(program: Program, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** A change: recorded, not run, in dry-run (then it reports success). */
  change(program: Program, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** A file the command would write, for dry-run output: its content, or a one-line summary. */
  noteWrite(file: string, content: string, summary?: string): void;
  /** Any other change dry-run only describes (a file it would remove). */
  report(line: string): void;
  /** How a program runs as the invoking user, as `asUser` runs limactl: uid, gid and environment (null: not root for a user). */
  userIdentity(): UserIdentity | null;
  /** A long-running query whose stdout is read as a stream (`limactl watch --json`). */
  stream(program: Program, args: readonly string[], options?: { asUser?: boolean }): Promise<{ child: ResultPromise }>;
}

export interface UserIdentity { uid: number; gid: number; env: NodeJS.ProcessEnv }

export interface RunnerContext {
  env: NodeJS.ProcessEnv;
  user: { uid: number; gid: number; home: string } | null;
  limaHome: string;
  dryRun: boolean;
  /** Where dry-run prints its plan. */
  report(line: string): void;
  /**
   * Where the macOS tools are: SYSTEM_PROGRAMS, always, for the CLI. In-process tests of the
   * adapters pass stand-ins here; nothing a user or an installed copy reads can change it.
   */
  programs?: Readonly<Record<SystemProgram, string>>;
}

export function createRunner(context: RunnerContext): Runner {
  // Programs run as the user (limactl) are found on the user's own PATH, which sudo may have
  // replaced with secure_path; those run as root keep the PATH root was given.
  const searchPath = (asUser: boolean) => (asUser && context.env.LIMAWAN_INVOKER_PATH) || context.env.PATH;
  const childEnv = (asUser: boolean) => ({
    env: { ...context.env, LIMA_HOME: context.limaHome, ...(asUser ? { HOME: context.user!.home, PATH: searchPath(true) } : {}) },
    extendEnv: false,
    ...(asUser ? { uid: context.user!.uid, gid: context.user!.gid } : {}),
  });
  const programs = context.programs ?? SYSTEM_PROGRAMS;
  /** The program's absolute path: a macOS tool where macOS keeps it, limactl from the user's PATH. */
  const locate = (program: Program, asUser: boolean): string => {
    if (program !== "limactl") {
      const file = programs[program];
      if (!isExecutableFile(file)) throw missing(program, file);
      refuseUntrusted(file, asUser);
      return file;
    }
    // Looked up here rather than left to spawn: when a child runs as another user, a missing
    // program can surface as EACCES from an unreadable PATH entry instead of ENOENT.
    const found = findOnPath(program, searchPath(asUser));
    if (!found) throw missing(program, null);
    return found;
  };
  const exec = async (program: Program, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> => {
    const asUser = Boolean(options.asUser && context.user);
    const found = locate(program, asUser);
    const { uid, gid, env } = childEnv(asUser) as { uid?: number; gid?: number; env: NodeJS.ProcessEnv };
    const result = await spawnCollect(found, args, { env, uid, gid, input: options.input, timeoutMs: options.timeoutMs ?? 60_000 });
    if ("error" in result) {
      if (result.error.code === "ENOENT") throw missing(program, program === "limactl" ? null : found);
      throw new CliError(EXIT.HOST_COMMAND, `${found} could not be run: ${result.error.message}`);
    }
    return result;
  };
  return {
    dryRun: context.dryRun,
    run: exec,
    async change(program, args, options = {}) {
      if (!context.dryRun) return exec(program, args, options);
      const command = [program, ...args.map(shellQuote)].join(" ");
      if (options.input !== undefined) {
        context.report(`would run: ${command} <<'EOF'\n${options.input.trimEnd()}\nEOF`);
      } else {
        context.report(`would run: ${command}`);
      }
      return { exitCode: 0, stdout: "", stderr: "" };
    },
    async stream(program, args, options = {}) {
      const asUser = Boolean(options.asUser && context.user);
      const found = locate(program, asUser);
      const { execa } = await import("execa");
      // Wrapped: a subprocess is a promise, and returning it from an async function would wait for it.
      return { child: execa(found, [...args], { reject: false, buffer: false, stdin: "ignore", ...childEnv(asUser) }) };
    },
    userIdentity: () => (context.user ? { uid: context.user.uid, gid: context.user.gid, env: childEnv(true).env } : null),
    report: (line) => context.report(line),
    noteWrite(file, content, summary) {
      context.report(summary ? `would write ${file}: ${summary}` : `would write ${file}:\n${content.trimEnd()}\n(end of ${file})`);
    },
  };
}

/** Run a program to completion, collecting its output; a timeout kills it (SIGTERM). */
function spawnCollect(
  program: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; uid?: number; gid?: number; input?: string; timeoutMs: number },
): Promise<CommandResult | { error: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const child = spawn(program, [...args], {
      env: options.env,
      ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on("data", (d: Buffer) => stdout.push(d));
    child.stderr!.on("data", (d: Buffer) => stderr.push(d));
    const timer = setTimeout(() => child.kill("SIGTERM"), options.timeoutMs);
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ error });
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? (signal ? 128 : 1), stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") });
    });
    if (options.input !== undefined) {
      child.stdin!.on("error", () => undefined); // a program that exits without reading its input
      child.stdin!.end(options.input);
    }
  });
}

/** Root runs no system program a user could have replaced (a damaged system, or a link planted in its path). */
function refuseUntrusted(file: string, asUser: boolean): void {
  if (asUser || process.getuid?.() !== 0) return;
  const problem = trustProblem(file);
  if (problem) throw new CliError(EXIT.ENVIRONMENT, `refusing to run ${file} as root: ${problem}`, "It ships with macOS, owned by root: check the system's integrity (csrutil status).");
}

/** The program's absolute path on `searchPath`, or null. */
export function findOnPath(program: string, searchPath: string | undefined): string | null {
  for (const dir of (searchPath ?? "").split(":").filter(Boolean)) {
    const candidate = path.resolve(dir, program);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `file`: where a macOS tool should have been; null for limactl, looked up on PATH. */
function missing(program: Program, file: string | null): CliError {
  if (file === null) {
    return new CliError(EXIT.ENVIRONMENT, `\`${program}\` was not found on PATH`, "Install Lima 2.0 or newer (brew install lima) and make sure limactl is on PATH.");
  }
  return new CliError(EXIT.ENVIRONMENT, `\`${program}\` was not found at ${file}`, `${program} ships with macOS at ${file}; LimaWAN runs it from there only.`);
}

export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
