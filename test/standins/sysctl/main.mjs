// LimaWAN test stand-in for macOS sysctl(8) (system_cmds sysctl.c): `sysctl [-n] NAME…`,
// `sysctl [-w] NAME=VALUE` (macOS ignores -w; prints `NAME: old -> new`), `sysctl -a`.
// State: $SYSCTL_STANDIN_STATE (JSON object name → value); calls: $SYSCTL_STANDIN_STATE.calls.
// Only the IP forwarding oids are writable, and only by root (EPERM otherwise), as on macOS.
// bin/sysctl runs it through the stand-in server or on its own (lib/served.bash).
import { logCall } from "../lib/call.mjs";
import { readState, writeState } from "../lib/state-file.mjs";

const INITIAL = {
  "hw.ncpu": "8",
  "kern.hostname": "standin-mac.local",
  "kern.osproductversion": "15.6",
  "kern.osrelease": "24.6.0",
  "kern.ostype": "Darwin",
  "net.inet.ip.forwarding": "0",
  // Where the kernel starts handing out client ports: xnu bsd/netinet/in_pcb.c ipport_firstauto.
  "net.inet.ip.portrange.first": "49152",
  "net.inet6.ip6.forwarding": "0",
};
const WRITABLE = new Set(["net.inet.ip.forwarding", "net.inet6.ip6.forwarding"]);
const STRINGS = new Set(["kern.hostname", "kern.osproductversion", "kern.osrelease", "kern.ostype"]);

/** sysctl's exit(3), wherever it is called. */
class Exit {
  constructor(code) {
    this.code = code;
  }
}

/** One sysctl call (lib/call.mjs): prints into `call`, logs it beside the state, returns the exit code. */
export function main(call) {
  const file = call.env.SYSCTL_STANDIN_STATE;
  if (!file) {
    call.stderr += "sysctl (LimaWAN test stand-in): SYSCTL_STANDIN_STATE is not set; refusing to guess where the state lives\n";
    return 1;
  }
  let code;
  try {
    code = sysctl(call, file);
  } catch (error) {
    if (!(error instanceof Exit)) throw error;
    code = error.code;
  }
  logCall(file, call, code);
  return code;
}

function sysctl(call, file) {
  const { argv } = call;
  const state = readState(file, INITIAL);
  const out = (text) => void (call.stdout += text);
  const err = (text) => void (call.stderr += text);
  const fail = (message, code = 1) => {
    err(`sysctl: ${message}\n`);
    throw new Exit(code);
  };
  const usage = () => {
    err("usage: sysctl [-bdehiNnoqx] name[=value] ...\n       sysctl [-bdehNnoqx] -a\n");
    throw new Exit(1);
  };

  // getopt("AabdehiNnoqwxX"): options first, then names.
  const flags = new Set();
  let i = 0;
  for (; i < argv.length && argv[i].startsWith("-") && argv[i] !== "-"; i++) {
    if (argv[i] === "--") {
      i++;
      break;
    }
    for (const ch of argv[i].slice(1)) {
      if (!"AabdehiNnoqwxX".includes(ch)) {
        err(`sysctl: illegal option -- ${ch}\n`);
        usage();
      }
      flags.add(ch);
    }
  }
  const names = argv.slice(i);
  const nflag = flags.has("n");
  if (flags.has("N") && nflag) usage();

  const show = (name) => out(nflag ? `${state[name]}\n` : `${name}: ${state[name]}\n`);
  const leafNames = () => Object.keys(state).sort();

  if ((flags.has("a") || flags.has("A") || flags.has("X")) && names.length === 0) {
    for (const name of leafNames()) show(name);
    return 0;
  }
  if (names.length === 0) usage();

  let warnings = 0;
  for (const arg of names) {
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const newValue = eq < 0 ? null : arg.slice(eq + 1).trimStart();
    const children = leafNames().filter((n) => n.startsWith(name + "."));
    if (!(name in state) && children.length === 0) {
      if (flags.has("i")) continue;
      if (flags.has("q")) return 1;
      fail(`unknown oid '${name}'`);
    }
    if (newValue === null) {
      // A node prints every leaf under it.
      if (name in state) show(name);
      else for (const child of children) show(child);
      continue;
    }
    if (!(name in state)) fail(`oid '${name}' isn't a leaf node`);
    if (!WRITABLE.has(name)) fail(`oid '${name}' is read only`);
    let stored = newValue;
    if (!STRINGS.has(name)) {
      if (newValue === "") fail("empty numeric value");
      // strtol(value, &end, 0) must consume everything.
      const m = /^\s*([+-]?)(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i.exec(newValue);
      if (!m) fail(`invalid integer '${newValue}'`);
      stored = String(Number.parseInt(m[1] + m[2], /^0x/i.test(m[2]) ? 16 : m[2].startsWith("0") && m[2] !== "0" ? 8 : 10) | 0);
    }
    // show_var prints the old value, then the write happens (or fails with the kernel's errno).
    out(nflag ? `${state[name]}` : `${name}: ${state[name]}`);
    if (call.euid !== 0) {
      out("\n");
      err(`sysctl: ${arg}: Operation not permitted\n`);
      warnings++;
      continue;
    }
    state[name] = stored;
    writeState(file, state);
    out(` -> ${stored}\n`);
  }
  return warnings;
}
