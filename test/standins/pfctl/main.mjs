// The pfctl stand-in: a stateful model of the kernel's PF as seen through macOS pfctl, for the
// invocations LimaWAN makes (see README.md). State: $PFCTL_STANDIN_STATE (JSON), calls logged
// to `<state>.calls`. Text is validated by ruleset.mjs exactly before anything changes.
// Output formats follow docs/PFCTL-OUTPUT.md (sections cited below), and the darwin suite's
// recordings of the real pfctl (test/standins/pfctl-fidelity.test.ts compares them).
import { mkdirSync, readFileSync, rmdirSync, statSync } from "node:fs";
import path from "node:path";
import { logCall } from "../lib/call.mjs";
import { readState, writeState } from "../lib/state-file.mjs";
import { normalise, parseRuleset } from "./ruleset.mjs";

const APPLE_MAIN = {
  normalization: ['scrub-anchor "com.apple/*"'],
  translation: ['nat-anchor "com.apple/*"', 'rdr-anchor "com.apple/*"', 'dummynet-anchor "com.apple/*"'],
  filtering: ['anchor "com.apple/*"'],
};
const INITIAL = { enabled: false, references: [], main: APPLE_MAIN, anchors: {}, counters: {}, enabledAt: 0 };
const WITH_ARGUMENT = new Set(["a", "f", "s", "t", "T", "X", "F", "k", "i", "D", "x"]);
const F_WARNING = "pfctl: Use of -f option, could result in flushing of rules\npresent in the main ruleset added by the system at startup.\nSee /etc/pf.conf for further details.\n";

/** One pfctl call (lib/call.mjs): prints into `call`, logs it beside the state, returns the exit code. */
export function main(call) {
  const file = call.env.PFCTL_STANDIN_STATE;
  if (!file) {
    call.stderr += "pfctl (LimaWAN test stand-in): PFCTL_STANDIN_STATE is not set; refusing to guess where the state lives\n";
    return 1;
  }
  const code = pfctl(call, file);
  logCall(file, call, code);
  return code;
}

function pfctl(call, file) {
  const { argv, env } = call;
  const err = (text) => void (call.stderr += text);
  const opts = parseArgs(argv);
  if (opts.error) return usage(err, opts.error);
  // Raised while the arguments are read, before -q is known: every -f prints it, -a and -n
  // included (PFCTL-OUTPUT.md §h).
  if (opts.f !== undefined) err(F_WARNING);
  // Every pfctl that opens /dev/pf checks ALTQ and says so; -n does not (§f, PF-FACTS.md §3).
  if (!opts.n) err("No ALTQ support in kernel\nALTQ related functions disabled\n");
  const failOn = env.PFCTL_STANDIN_FAIL;
  if (failOn && argv.join(" ") === failOn) {
    err(`${env.PFCTL_STANDIN_FAIL_MESSAGE ?? "pfctl: DIOCXCOMMIT: Device busy"}\n`);
    return Number(env.PFCTL_STANDIN_FAIL_CODE ?? 1);
  }
  if (call.euid !== 0 && env.PFCTL_STANDIN_ALLOW_USER !== "1") {
    err("pfctl: /dev/pf: Permission denied\n");
    return 1;
  }
  return withLock(file, () => {
    const state = readState(file, INITIAL);
    const code = run(call, opts, state);
    // A main-ruleset load pfctl refused has cleared the skip flags all the same (load below).
    if (!opts.n && (code === 0 || opts.flagsReset)) writeState(file, state);
    return code;
  });
}

function parseArgs(argv) {
  const o = { flags: new Set(), rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    // Addresses after `-T add|delete`, seconds after `-T expire`.
    if (o.T !== undefined && !arg.startsWith("-")) {
      o.rest.push(arg);
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") return { error: `unexpected argument ${arg}` };
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j];
      if (WITH_ARGUMENT.has(c)) {
        const value = arg.slice(j + 1) || argv[++i];
        if (value === undefined) return { error: `option requires an argument -- ${c}` };
        o[c] = value;
        break;
      }
      if (!"nvEedqNORgrm".includes(c)) return { error: `illegal option -- ${c}` };
      o.flags.add(c);
    }
  }
  o.n = o.flags.has("n");
  return o;
}

function usage(err, message) {
  err(`pfctl: ${message}\nusage: pfctl [-AdeghMmNnOqRrvz] [-a anchor] [-D macro=value] [-F modifier]\n\t[-f file] [-i interface] [-K host | network] [-k host | network ]\n\t[-o level] [-p device] [-s modifier ] [-t table -T command [address ...]]\n\t[-x level]\n`);
  return 1;
}

/**
 * An anchor exists in the kernel while the main ruleset refers to it (`X/*` refers to X) or it
 * holds rules or tables; listing one that does not makes pfctl warn about DIOCGETRULES, and exit
 * 0: main() ignores the listing's result (docs/PFCTL-OUTPUT.md §h). Empty records left in the
 * state file count as absent.
 */
function anchorExists(state, name) {
  const referenced = [...state.main.translation, ...state.main.filtering, ...state.main.normalization].some((rule) => {
    const m = /-?anchor "([^"]+)"/.exec(rule);
    return m && m[1].replace(/\/\*$/, "") === name;
  });
  const a = state.anchors[name];
  return referenced || Boolean(a && (a.translation.length > 0 || a.filtering.length > 0 || Object.keys(a.tables).length > 0));
}

function anchorOf(state, name) {
  state.anchors[name] ??= { translation: [], filtering: [], tables: {} };
  return state.anchors[name];
}

function run(call, o, state) {
  const out = (text) => void (call.stdout += text);
  const err = (text) => void (call.stderr += text);
  if (o.flags.has("E")) {
    // 64-bit tokens, 20 digits as often as not: above 2^53 (§b). The holder is pfctl itself.
    const token = String(BigInt(Date.now()) * 1000003n + BigInt(call.pid)).padStart(20, "1").slice(-20);
    if (!state.enabled) state.enabledAt = Date.now();
    state.enabled = true;
    state.references.push({ token, pid: call.pid, name: "pfctl", since: Date.now() });
    err(`pf enabled\nToken : ${token}\n`);
    return 0;
  }
  if (o.X !== undefined) {
    // The kernel: ENOENT when PF is stopped, EINVAL for a token it does not hold (§c).
    if (!state.enabled) return err("pfctl: pf not enabled\n"), 1;
    const index = state.references.findIndex((r) => r.token === o.X);
    if (index < 0) return err("pfctl: DIOCSTOPREF: Invalid argument\n"), 1;
    state.references.splice(index, 1);
    const remaining = state.references.length;
    if (remaining === 0) state.enabled = false;
    err(remaining > 0 ? `disable request successful. ${remaining} more pf enable reference(s) remaining, pf still enabled.\n` : "pf disabled\n");
    return 0;
  }
  if (o.flags.has("e")) {
    if (state.enabled) return err("pfctl: pf already enabled\n"), 1;
    state.enabled = true;
    state.enabledAt = Date.now();
    return err("pf enabled\n"), 0;
  }
  if (o.flags.has("d")) {
    state.enabled = false;
    state.references = [];
    return err("pf disabled\n"), 0;
  }
  if (o.f !== undefined) return load(call, o, state);
  if (o.F !== undefined) {
    if (!o.a) return err("pfctl: flushing the main ruleset is not modelled by the stand-in\n"), 1;
    const anchor = anchorOf(state, o.a);
    const what = o.F.toLowerCase();
    if (what === "all" || what === "rules") anchor.filtering = [], err("rules cleared\n");
    if (what === "all" || what === "nat") anchor.translation = [], err("nat cleared\n");
    if (what === "all" || what === "tables") {
      err(`${Object.keys(anchor.tables).length} tables deleted.\n`);
      anchor.tables = {};
    }
    return 0;
  }
  if (o.t !== undefined) return tableCommand(call, o, state, o.rest);
  if (o.s !== undefined) return show(o, state, out, err);
  return usage(err, "no command given");
}

function load(call, o, state) {
  const err = (text) => void (call.stderr += text);
  let text;
  try {
    // /dev/stdin too: the stand-in server's own stdin is not the caller's.
    text = o.f === "-" || o.f === "/dev/stdin" ? call.stdin() : readFileSync(path.resolve(call.cwd, o.f), "utf8");
  } catch {
    err(`pfctl: ${o.f}: No such file or directory\n`);
    return 1;
  }
  if (!o.a && !o.n) {
    // main() clears every interface's skip flag before any main-ruleset load, whatever -N, -R,
    // -O or -m say (pfctl_clear_interface_flags; Apple's pfctl, PF-FACTS.md §4b), and sets
    // flags again only from the `set skip` options it loads.
    state.skip = [];
    o.flagsReset = true;
  }
  const parsed = parseRuleset(text, o.f === "-" ? "stdin" : o.f, { rejectScrubAnchorOptions: call.env.PFCTL_STANDIN_REJECT_SCRUB_OPTIONS === "1" });
  if (parsed.errors.length > 0) {
    // Under -n pfctl exits straight after the parser's messages (§h).
    err(`${parsed.errors.join("\n")}\n${o.n ? "" : "pfctl: Syntax error in config file: pf rules not loaded\n"}`);
    return 1;
  }
  if (o.n) return 0;
  if (!o.a) {
    // -N loads only the translation rules, -R only the scrub and filter rules, -O only the
    // options (several combine; none means all): the other kinds, and dummynet anchors (a
    // ruleset of their own), stay as they are loaded (pfctl(8), PF-FACTS.md §4b).
    const only = ["N", "R", "O"].filter((flag) => o.flags.has(flag));
    const loads = (flag) => only.length === 0 || only.includes(flag);
    const dummynet = state.main.translation.filter((r) => r.startsWith("dummynet-anchor"));
    if (loads("N")) state.main.translation = only.length === 0 ? parsed.translation : [...parsed.translation.filter((r) => !r.startsWith("dummynet-anchor")), ...dummynet];
    if (loads("R")) {
      state.main.normalization = parsed.normalization;
      state.main.filtering = parsed.filtering;
    }
    if (loads("O")) state.skip = parsed.skip;
    return 0;
  }
  // Loading into an anchor replaces its rules atomically; a table declared without an
  // initialiser keeps what it holds (PF-FACTS.md §6), one with `{…}` gets exactly that.
  const anchor = anchorOf(state, o.a);
  anchor.translation = parsed.translation;
  anchor.filtering = parsed.filtering;
  for (const table of parsed.tables) {
    const existing = anchor.tables[table.name];
    anchor.tables[table.name] = { persist: table.persist, const: table.const, entries: table.entries ?? existing?.entries ?? [] };
  }
  return 0;
}

/** Addresses in the kernel's radix-tree order: by address, then by prefix. */
function byAddress(a, b) {
  const key = (entry) => {
    const [address, prefix = "32"] = entry.replace(/^!/, "").split("/");
    return address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0) * 64 + Number(prefix);
  };
  return key(a) - key(b);
}

function tableCommand(call, o, state, addresses) {
  const anchor = anchorOf(state, o.a ?? "");
  const table = anchor.tables[o.t];
  const command = o.T;
  const say = (text) => void (call.stderr += text);
  // pfctl_table returns -1 on an error and main exits with it: 255 (§e).
  if (!table && command !== "add") return say("pfctl: Table does not exist.\n"), 255;
  if (!table) {
    anchor.tables[o.t] = { persist: false, const: false, entries: [] };
    say("1 table created.\n");
    return tableCommand(call, o, state, addresses);
  }
  table.added ??= {};
  switch (command) {
    case "show": {
      // -v: each address's last clearing (ctime(3), local time) and its four counters (§e).
      const counters = ["In/Block:", "In/Pass:", "Out/Block:", "Out/Pass:"].map((l) => `\t${l.padEnd(12)} [ Packets: ${"0".padEnd(18)} Bytes: ${"0".padEnd(18)} ]\n`).join("");
      const verbose = (e) => (o.flags.has("v") ? `\tCleared:     ${ctime(table.added[e] ?? 0)}\n${counters}` : "");
      call.stdout += [...table.entries].sort(byAddress).map((e) => `   ${e}\n${verbose(e)}`).join("");
      return 0;
    }
    case "kill":
      delete anchor.tables[o.t];
      say("1 table deleted.\n");
      return 0;
    case "flush":
      say(`${table.entries.length} addresses deleted.\n`);
      table.entries = [];
      table.added = {};
      return 0;
    case "add": {
      const fresh = addresses.filter((a) => !table.entries.includes(a));
      for (const a of fresh) table.added[a] = Date.now();
      table.entries.push(...fresh);
      say(`${fresh.length}/${addresses.length} addresses added.\n`);
      return 0;
    }
    case "delete": {
      const gone = addresses.filter((a) => table.entries.includes(a));
      table.entries = table.entries.filter((a) => !gone.includes(a));
      for (const a of gone) delete table.added[a];
      say(`${gone.length}/${addresses.length} addresses deleted.\n`);
      return 0;
    }
    case "expire": {
      // Entries whose counters were last cleared more than N seconds ago, strictly; the second
      // number counts those candidates (§e). Entries from a ruleset file count as cleared at 0.
      const seconds = Number(addresses[0]);
      if (addresses.length !== 1 || !Number.isInteger(seconds) || seconds < 0) return usage(say, "-T expire needs a number of seconds");
      const old = table.entries.filter((a) => Math.floor(Date.now() / 1000) - Math.floor((table.added[a] ?? 0) / 1000) > seconds);
      table.entries = table.entries.filter((a) => !old.includes(a));
      for (const a of old) delete table.added[a];
      say(`${old.length}/${old.length} addresses expired.\n`);
      return 0;
    }
    default:
      return usage(say, `-T ${command} is not modelled by the stand-in`);
  }
}

function show(o, state, out, err) {
  const listsRules = ["n", "nat", "r", "rules", "l", "labels", "dummynet"].includes(o.s);
  if (o.a && listsRules && !anchorExists(state, o.a)) return err("pfctl: DIOCGETRULES: Invalid argument\n"), 0;
  // Reading never creates an anchor.
  const rules = o.a ? (state.anchors[o.a] ?? { translation: [], filtering: [], tables: {} }) : state.main;
  switch (o.s) {
    case "n":
    case "nat":
      out(rules.translation.filter((r) => !r.startsWith("dummynet-anchor")).map((r) => `${normalise(r)}\n`).join(""));
      return 0;
    case "r":
    case "rules": {
      // -v: each rule's counters, then (Apple only) who inserted it (§d).
      const verbose = (rule) => {
        const c = state.counters[/label "([^"]+)"/.exec(rule)?.[1]] ?? { evaluations: 0, packets: 0, bytes: 0, states: 0 };
        return `  [ Evaluations: ${String(c.evaluations).padEnd(8)}  Packets: ${String(c.packets).padEnd(8)}  Bytes: ${String(c.bytes).padEnd(10)}  States: ${String(c.states ?? 0).padEnd(6)}]\n  [ Inserted: uid 0 pid 0 ]\n`;
      };
      out([...(o.a ? [] : state.main.normalization), ...rules.filtering].map((r) => `${normalise(r)}\n${o.flags.has("v") ? verbose(r) : ""}`).join(""));
      return 0;
    }
    case "l":
    case "labels":
      // macOS: seven counters, no states column (FreeBSD has one) (§a).
      for (const rule of rules.filtering) {
        const label = /label "([^"]+)"/.exec(rule)?.[1];
        if (!label) continue;
        const c = state.counters[label] ?? { evaluations: 0, packets: 0, bytes: 0 };
        out(`${label} ${c.evaluations} ${c.packets} ${c.bytes} ${c.packets} ${c.bytes} 0 0\n`);
      }
      return 0;
    case "dummynet":
      out(rules.translation.filter((r) => r.startsWith("dummynet-anchor")).map((r) => `${normalise(r)}\n`).join(""));
      return 0;
    case "Tables":
    case "T":
      // In the kernel's table tree, ordered by name (§e).
      out(Object.keys(o.a ? rules.tables : {}).sort().map((t) => `${t}\n`).join(""));
      return 0;
    case "info":
    case "i": {
      // "%-44s" then "%15s" (§f).
      const status = state.enabled ? `Status: Enabled for ${age(state.enabledAt)}` : "Status: Disabled";
      out(`${status.padEnd(44)}${"Debug: Urgent".padStart(15)}\n\nState Table                          Total             Rate\n  current entries                        0\n`);
      return 0;
    }
    case "state":
    case "states":
    case "s": {
      // The kernel's states, as the harness put them there (its model of connections): Apple's
      // print_state, internal address first, then the address dialled, then the remote (§g).
      for (const s of state.states ?? []) out(`ALL ${s.proto} ${s.lan}${s.gwy && s.gwy !== s.lan ? ` <- ${s.gwy}` : ""} <- ${s.ext}       ${s.srcState ?? "ESTABLISHED"}:${s.dstState ?? "ESTABLISHED"}\n`);
      return 0;
    }
    case "Anchors":
    case "A": {
      // The anchors under -a (top level without it), "  path" each; -v recurses, each anchor
      // before its children (pfctl's pfctl_show_anchors).
      const known = new Set(Object.keys(state.anchors).filter((n) => anchorExists(state, n)));
      for (const rule of [...state.main.translation, ...state.main.filtering, ...state.main.normalization]) {
        const m = /-?anchor "([^"]+)"/.exec(rule);
        if (m) known.add(m[1].replace(/\/\*$/, ""));
      }
      const paths = new Set();
      for (const name of known) {
        const parts = name.split("/");
        for (let i = 1; i <= parts.length; i++) paths.add(parts.slice(0, i).join("/"));
      }
      const under = o.a ? `${o.a}/` : "";
      const listed = [...paths].filter((p) => p.startsWith(under) && (o.flags.has("v") || !p.slice(under.length).includes("/"))).sort();
      out(listed.map((p) => `  ${p}\n`).join(""));
      return 0;
    }
    case "Interfaces":
    case "I":
      // Interfaces PF knows; -v flags those `set skip on` left out of filtering (pfctl's
      // print_iface). Every main-ruleset load clears the flags (load above).
      for (const name of state.interfaces ?? ["lo0", "en0", "en1", "bridge100"]) out(`${name}${o.flags.has("v") && (state.skip ?? []).includes(name) ? " (skip)" : ""}\n`);
      return 0;
    case "References":
      // ENOENT from the kernel when nobody holds PF; else a title, a header and one row each (§b).
      if (state.references.length === 0) return out("No pf starter references held\n"), 0;
      out(`TOKENS:\n${"PID".padEnd(8)} ${"Process Name".padEnd(28)} ${"TOKEN".padEnd(24)} TIMESTAMP\n`);
      for (const r of state.references) out(`${String(r.pid).padEnd(8)} ${r.name.padEnd(28)} ${r.token.padEnd(24)} ${age(r.since ?? Date.now())}\n`);
      return 0;
    default:
      return usage(err, `-s ${o.s} is not modelled by the stand-in`);
  }
}

/** ctime(3): `Thu Nov 27 12:34:56 2025`, in local time. */
function ctime(ms) {
  const d = new Date(ms);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const two = (n) => String(n).padStart(2, "0");
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${String(d.getDate()).padStart(2)} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`;
}

/** `N days HH:MM:SS` since `since` (ms). */
function age(since) {
  const secs = Math.max(0, Math.floor((Date.now() - since) / 1000));
  return `${Math.floor(secs / 86400)} days ${new Date((secs % 86400) * 1000).toISOString().slice(11, 19)}`;
}

/** Two pfctl processes at once (two `up`s) must not lose an update: mkdir lock with retry. */
function withLock(file, fn) {
  const lock = `${file}.lock`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 10_000) rmdirSync(lock);
      } catch {}
      if (Date.now() > deadline) throw new Error(`pfctl stand-in: ${lock} is held`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
  try {
    return fn();
  } finally {
    rmdirSync(lock);
  }
}
