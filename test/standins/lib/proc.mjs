// The process a limactl stand-in call runs as: its environment, effective uid, pid, terminals,
// stdin, output and exit. By default the real process (bin/limactl run by node: output written
// at once, exit(3) exits); inside the stand-in server (server.mjs) one served call at a time,
// whose output is collected and whose exit throws call.mjs's Exit. The limactl code reads
// these instead of `process`, so both ways run the same code.
import { readFileSync } from "node:fs";
import { Exit } from "./call.mjs";

/** stdin, read once, and only when a command asks for it (/dev/stdin, `create -`). */
function stdinOnce() {
  let text = null;
  return () => {
    if (text === null) {
      try {
        text = readFileSync(0, "utf8");
      } catch {
        text = "";
      }
    }
    return text;
  };
}

const real = {
  served: false,
  jsonLog: false,
  env: process.env,
  euid: () => process.geteuid?.() ?? null,
  pid: process.pid,
  started: Date.now(),
  stdoutIsTTY: () => Boolean(process.stdout.isTTY),
  stderrIsTTY: () => Boolean(process.stderr.isTTY),
  stdin: stdinOnce(),
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  exit: (code) => process.exit(code),
};

/** The process the running call has. */
export let proc = real;

/**
 * Run `fn` as the served call `call` (call.mjs's Call, with `tty: {stdout, stderr}`): its output
 * collected in call.stdout / call.stderr, its exit thrown as Exit. Synchronous only: the server
 * runs one call at a time, and nothing of it may outlive `fn`.
 */
export function asServedCall(call, fn) {
  proc = {
    served: true,
    jsonLog: false,
    env: call.env,
    euid: () => call.euid,
    pid: call.pid,
    started: Date.now(),
    stdoutIsTTY: () => Boolean(call.tty?.stdout),
    stderrIsTTY: () => Boolean(call.tty?.stderr),
    stdin: call.stdin,
    out: (text) => void (call.stdout += text),
    err: (text) => void (call.stderr += text),
    exit: (code) => {
      throw new Exit(code);
    },
  };
  try {
    return fn();
  } finally {
    proc = real;
  }
}

/** What a served call cannot do in the server (stream, wait, run a plugin): the caller's shim then runs node. */
export class NotServed {
  constructor(reason) {
    this.reason = reason;
  }
}

/** In a served call, hand it back to node: it needs a process of its own. */
export function needsOwnProcess(reason) {
  if (proc.served) throw new NotServed(reason);
}

export const isRoot = () => proc.euid() === 0;
