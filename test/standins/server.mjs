// The stand-in server: answers pfctl, sysctl, ifconfig, route, arp, launchctl and limactl
// stand-in calls in one long-lived process. Their bin/ scripts, given
// MACOS_STANDIN_SERVER=PORT:TOKEN:UID[,…], send their call here over 127.0.0.1 instead of starting
// node (~100-200 ms each; a test run makes hundreds of these calls). A call runs the same code as
// lib/alone.mjs runs, one at a time, against the state its own environment names
// (lib/served.bash is the other end). limactl's commands that stream or wait are handed back.
//
// Request: NUL-terminated fields — token, program, euid, pid, cwd, argc, argv…, envc, NAME=VALUE…
// (the *_STANDIN_* variables; all of them for limactl), whether stdin was read, stdin, umask
// (octal; "-" but for limactl), whether stdout and stderr are terminals ("01"). Answer: exit code ("-": run it by
// node instead), stdout, stderr. Only callers running as the server's own user are sent here
// (the UID in the variable), so files are opened with the caller's rights. The server exits when
// its stdin closes (the test process that started it is gone).
import { createServer } from "node:net";
import { main as arp } from "./arp/main.mjs";
import { main as ifconfig } from "./ifconfig/main.mjs";
import { main as launchctl } from "./launchctl/main.mjs";
import { main as limactl } from "./limactl/main.mjs";
import { NotServed } from "./lib/proc.mjs";
import { main as pfctl } from "./pfctl/main.mjs";
import { main as route } from "./route/main.mjs";
import { main as sysctl } from "./sysctl/main.mjs";

const PROGRAMS = { arp, ifconfig, launchctl, limactl, pfctl, route, sysctl };
const token = process.env.STANDIN_SERVER_TOKEN;
if (!token) {
  process.stderr.write("stand-in server: STANDIN_SERVER_TOKEN is not set\n");
  process.exit(2);
}

/** The request's fields once all have arrived, else null. */
export function parseRequest(buffer) {
  const fields = buffer.toString("utf8").split("\0").slice(0, -1);
  const at = (i) => (i < fields.length ? fields[i] : undefined);
  const argc = Number(at(5));
  if (!Number.isInteger(argc)) return null;
  const envc = Number(at(6 + argc));
  if (!Number.isInteger(envc)) return null;
  const reads = 7 + argc + envc;
  if (fields.length < reads + 4) return null;
  return {
    token: fields[0],
    program: fields[1],
    euid: Number(fields[2]),
    pid: Number(fields[3]),
    cwd: fields[4],
    argv: fields.slice(6, 6 + argc),
    env: Object.fromEntries(fields.slice(7 + argc, reads).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
    stdinRead: fields[reads] === "1",
    stdin: fields[reads] === "1" ? fields[reads + 1] : "",
    umask: fields[reads + 2] === "-" ? null : Number.parseInt(fields[reads + 2], 8),
    tty: { stdout: fields[reads + 3][0] === "1", stderr: fields[reads + 3][1] === "1" },
  };
}

function answer(request) {
  const run = PROGRAMS[request.program];
  if (!run) return `127\0\0stand-in server: no program ${request.program}\n\0`;
  const stdin = () => {
    // The caller's shim reads stdin only for the calls it knows read it (served.bash).
    if (!request.stdinRead) throw new Error(`stand-in server: ${request.program} ${request.argv.join(" ")} read stdin, which its caller did not send`);
    return request.stdin;
  };
  const call = { argv: request.argv, env: request.env, euid: request.euid, pid: request.pid, cwd: request.cwd, umask: request.umask, tty: request.tty, stdin, stdout: "", stderr: "" };
  let code;
  try {
    code = run(call);
  } catch (error) {
    if (error instanceof NotServed) return "-\0\0\0";
    // As an uncaught exception in the program's own process: the stack, exit 1.
    call.stderr += `${error?.stack ?? error}\n`;
    code = 1;
  }
  return `${code}\0${call.stdout}\0${call.stderr}\0`;
}

// A ruleset or a table's addresses: far below this. Anything larger is not a test's call.
const MAX_REQUEST = 64 * 1024 * 1024;

const server = createServer((socket) => {
  let buffer = Buffer.alloc(0);
  socket.on("error", () => {});
  socket.on("data", (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    // The token comes first: a caller without it is cut off before it can send more.
    const end = buffer.indexOf(0);
    if ((end >= 0 && buffer.subarray(0, end).toString("utf8") !== token) || buffer.length > MAX_REQUEST) return void socket.destroy();
    const request = parseRequest(buffer);
    if (request) socket.end(answer(request));
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}:${process.getuid()}\n`));
process.stdin.on("end", () => process.exit(0)).resume();
