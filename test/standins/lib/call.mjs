// One call of a stand-in, as data: what a process is given (argv, environment, effective uid,
// pid, working directory, stdin) and what it prints. The same stand-in code then runs either as
// its own process (processCall) or inside the stand-in server (server.mjs), which saves node's
// start-up on each of the hundreds of pfctl calls a test run makes.
import { appendFileSync, chmodSync, readFileSync } from "node:fs";

/**
 * @typedef {object} Call
 * @property {string[]} argv
 * @property {Record<string, string | undefined>} env
 * @property {number | null} euid
 * @property {number} pid
 * @property {string} cwd
 * @property {() => string} stdin  read all of stdin (only called by programs that read it)
 * @property {string} stdout  what the call printed so far
 * @property {string} stderr
 */

/** This process as a call with these arguments. */
export function processCall(argv) {
  return {
    argv,
    env: process.env,
    euid: process.geteuid?.() ?? null,
    pid: process.pid,
    cwd: process.cwd(),
    stdin: () => readFileSync(0, "utf8"),
    stdout: "",
    stderr: "",
  };
}

/** Append {argv, euid, exitCode, stdout, stderr, time} to `<file>.calls` (the format of state-file.mjs's logCalls). */
export function logCall(file, call, exitCode) {
  const entry = { argv: call.argv, euid: call.euid, exitCode, stdout: call.stdout, stderr: call.stderr, time: new Date().toISOString() };
  // Root and non-root callers share the log: keep it writable for both.
  try {
    appendFileSync(`${file}.calls`, JSON.stringify(entry) + "\n", { mode: 0o666 });
    chmodSync(`${file}.calls`, 0o666);
  } catch {
    // another user's log we may not touch: the call itself still behaves as the real tool
  }
}

/** A stand-in's exit(3), wherever in its code it is called: runCall turns it into the exit code. */
export class Exit {
  constructor(code) {
    this.code = code;
  }
}

/** Run `program(call)`, which returns an exit code or throws Exit. */
export function runCall(call, program) {
  try {
    return program(call);
  } catch (error) {
    if (error instanceof Exit) return error.code;
    throw error;
  }
}
