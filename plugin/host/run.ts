// Runs host programs: the macOS tools by absolute path (SYSTEM_PROGRAMS), limactl from the
// user's PATH, as the user. Read-only calls always run; calls that change the host go through
// `change`, which in --dry-run mode prints the exact command (and its stdin) instead of running it.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";
import { CliError, EXIT } from "../errors.js";
import { BoundedBytes, BoundedLines, formatLimit, OUTPUT_LIMIT_BYTES } from "./bounded-output.js";
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
  /**
   * The most stdout, and stderr, may hold (default OUTPUT_LIMIT_BYTES): past it the program is
   * stopped and the call fails (OutputTooLarge). Only for output that grows with the host's own
   * state (PF's state and ban tables), never with what a guest prints.
   */
  outputLimit?: number;
}

/** A program printed more than LimaWAN reads: it was stopped, and nothing it said is used. */
export class OutputTooLarge extends CliError {
  constructor(command: string, stream: "stdout" | "stderr", limit: number) {
    super(
      EXIT.HOST_COMMAND,
      `\`${command}\` printed more than ${formatLimit(limit)} on ${stream}; LimaWAN stopped it and used none of it`,
      command.startsWith("limactl shell")
        ? "The guest answered with far more than the command prints: check that program inside the VM."
        : "LimaWAN reads a program's output only up to that size.",
      undefined,
      null,
      "output-too-large",
    );
  }
}

/** A followed stream's end: null when it ended by itself, else why LimaWAN stopped it. */
export type StreamEnd = string | null;

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
  /**
   * A long-running query whose stdout is read line by line (`limactl watch --json`), each line
   * at most OUTPUT_LIMIT_BYTES: a longer one stops the program. `exited` says why it ended.
   */
  stream(program: Program, args: readonly string[], options: { asUser?: boolean; onLine(line: string): void }): { exited: Promise<StreamEnd>; stop(): void };
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
    const outputLimit = options.outputLimit ?? OUTPUT_LIMIT_BYTES;
    const result = await spawnCollect(found, args, { env, uid, gid, input: options.input, timeoutMs: options.timeoutMs ?? 60_000, outputLimit });
    if ("error" in result) {
      if (result.error.code === "ENOENT") throw missing(program, program === "limactl" ? null : found);
      throw new CliError(EXIT.HOST_COMMAND, `${found} could not be run: ${result.error.message}`);
    }
    if ("exceeded" in result) throw new OutputTooLarge([program, ...args].map(shellQuote).join(" "), result.exceeded, outputLimit);
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
    stream(program, args, options) {
      const asUser = Boolean(options.asUser && context.user);
      const found = locate(program, asUser);
      const { uid, gid, env } = childEnv(asUser) as { uid?: number; gid?: number; env: NodeJS.ProcessEnv };
      return followLines(found, args, { env, uid, gid, onLine: options.onLine, describe: () => [program, ...args].map(shellQuote).join(" ") });
    },
    userIdentity: () => (context.user ? { uid: context.user.uid, gid: context.user.gid, env: childEnv(true).env } : null),
    report: (line) => context.report(line),
    noteWrite(file, content, summary) {
      context.report(summary ? `would write ${file}: ${summary}` : `would write ${file}:\n${content.trimEnd()}\n(end of ${file})`);
    },
  };
}

/**
 * Run a program to completion, collecting its output up to `outputLimit` bytes a stream; a
 * timeout stops it (SIGTERM). Past the limit it is killed and its pipes closed at once: a
 * program it started (ssh, under `limactl shell`) may still hold them, and then gets EPIPE.
 */
function spawnCollect(
  program: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; uid?: number; gid?: number; input?: string; timeoutMs: number; outputLimit: number },
): Promise<CommandResult | { error: NodeJS.ErrnoException } | { exceeded: "stdout" | "stderr" }> {
  return new Promise((resolve) => {
    const child = spawn(program, [...args], {
      env: options.env,
      ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const stdout = new BoundedBytes(options.outputLimit);
    const stderr = new BoundedBytes(options.outputLimit);
    const timer = setTimeout(() => child.kill("SIGTERM"), options.timeoutMs);
    let settled = false;
    const settle = (value: CommandResult | { error: NodeJS.ErrnoException } | { exceeded: "stdout" | "stderr" }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };
    const collect = (bytes: BoundedBytes, name: "stdout" | "stderr") => (chunk: Buffer) => {
      if (bytes.add(chunk) || settled) return;
      stopChild(child);
      settle({ exceeded: name });
    };
    child.stdout!.on("data", collect(stdout, "stdout"));
    child.stderr!.on("data", collect(stderr, "stderr"));
    child.once("error", (error: NodeJS.ErrnoException) => settle({ error }));
    child.once("close", (code, signal) => settle({ exitCode: code ?? (signal ? 128 : 1), stdout: stdout.text(), stderr: stderr.text() }));
    if (options.input !== undefined) {
      child.stdin!.on("error", () => undefined); // a program that exits without reading its input
      child.stdin!.end(options.input);
    }
  });
}

/** `limactl watch --json`: stdout line by line, each bounded; stderr is not read. */
function followLines(
  program: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; uid?: number; gid?: number; onLine(line: string): void; describe(): string },
): { exited: Promise<StreamEnd>; stop(): void } {
  const child = spawn(program, [...args], {
    env: options.env,
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
    stdio: ["ignore", "pipe", "ignore"],
  });
  const lines = new BoundedLines(OUTPUT_LIMIT_BYTES);
  const exited = new Promise<StreamEnd>((resolve) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      const complete = lines.add(chunk);
      if (complete === null) {
        stopChild(child);
        resolve(`\`${options.describe()}\` printed a line longer than ${formatLimit(lines.limit)}; LimaWAN stopped it`);
        return;
      }
      for (const line of complete) options.onLine(line);
    });
    child.once("error", (error) => resolve(`\`${options.describe()}\` could not be run: ${error.message}`));
    child.once("close", () => resolve(null));
  });
  // Our end of the pipe closes too: a program it started may hold the other end.
  return { exited, stop: () => stopChild(child, "SIGTERM") };
}

/** Stop a child (by default one whose output is beyond reading), and close our ends of its pipes. */
function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): void {
  child.kill(signal);
  child.stdout?.destroy();
  child.stderr?.destroy();
}

/** Root runs no system program a user could have replaced (a damaged system, or a link planted in its path). */
function refuseUntrusted(file: string, asUser: boolean): void {
  if (asUser || process.getuid?.() !== 0) return;
  const problem = trustProblem(file);
  if (problem) throw new CliError(EXIT.ENVIRONMENT, `refusing to run ${file} as root: ${problem}`, "It ships with macOS, owned by root: check the system's integrity (csrutil status).", undefined, null, "unsafe-path");
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
    return new CliError(EXIT.ENVIRONMENT, `\`${program}\` was not found on PATH`, "Install Lima 2.0 or newer (brew install lima) and make sure limactl is on PATH.", undefined, null, "tool-missing");
  }
  return new CliError(EXIT.ENVIRONMENT, `\`${program}\` was not found at ${file}`, `${program} ships with macOS at ${file}; LimaWAN runs it from there only.`, undefined, null, "tool-missing");
}

export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
