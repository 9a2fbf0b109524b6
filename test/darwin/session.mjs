// The darwin suite's PF session: what `npm run test:darwin` changes on a Mac, and how it puts
// everything back. run.mjs drives it; test/darwin-session/ tests it on Linux against the pfctl
// stand-in. Every host call goes through the functions it is given (pfctl, ifconfig, sysctl),
// synchronously, so the same code restores PF from `finally` and from a signal handler.
//
// What a session does (README "Real-PF tests on a Mac"):
//  1. reads PF's loaded state: the main ruleset's translation (-sn), filter (-sr) and dummynet
//     rules, the interfaces' skip flags (-s Interfaces -v), the enable references and status,
//     and the `limawan` anchor;
//  2. refuses, changing nothing, when the `limawan` anchor holds rules (live forwards), when the
//     loaded main ruleset holds anything but anchor points named in /etc/pf.conf (runtime
//     anchors such as Internet Sharing's, PF-FACTS.md §4a: loading the main ruleset would drop
//     them, and putting them back as text makes them ours, not their service's) unless
//     LIMAWAN_DARWIN_ACCEPT_RUNTIME_RULES=1 says so, when a test point is already loaded, or
//     when an lo0 alias it needs exists;
//  3. loads the main ruleset as loaded (printed rules, read back: PF-FACTS.md §4a) plus
//     `rdr-anchor "limawan-test-PID"`, `anchor "limawan-test-PID"` and `anchor
//     "limawan-test-PID-block"`, checked with `pfctl -n` first and with `-m` so PF's options
//     stay as they are; then checks PF printed back exactly that;
//  4. adds lo0 aliases for the test clients, and picks the range the tests take their ports
//     from: below the first port macOS gives clients (testPorts);
//  5. closes: empties its two anchors, loads the main ruleset as it was (its skip flags with
//     it), releases every enable reference a test recorded and still holds, removes the
//     aliases, and compares PF with step 1 — any difference is reported, and fails the run.
//
// Skip flags: every `pfctl -f` of the main ruleset first clears every interface's skip flag
// and sets again only those its own `set skip` names (PF-FACTS.md §4b: pfctl.c main() calls
// pfctl_clear_interface_flags whenever it loads rules without -a; parse.y's `set skip` sets them
// while options load). So both rulesets the session loads carry a `set skip on { … }`: the
// restore file the flags found, the test file the same but lo0, which the tests need PF to see.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseReferences } from "../../dist/plugin/host/pfctl.js";

export const TEST_ANCHOR_PREFIX = "limawan-test-";
const POINT = /^(scrub-anchor|nat-anchor|rdr-anchor|binat-anchor|dummynet-anchor|anchor) "([^"]+)"(?:\s|$)/;
/**
 * Where macOS starts handing out client ports when sysctl cannot say: xnu
 * bsd/netinet/in_pcb.c `ipport_firstauto = IPPORT_HIFIRSTAUTO` (49152), the start of RFC 6335
 * §6's dynamic range; `sysctl net.inet.ip.portrange.first` reads it.
 */
export const DEFAULT_FIRST_CLIENT_PORT = 49152;
const TEST_PORT_SPAN = 16384;
const MIN_TEST_PORTS = 1024;

/** The interface the tests run on: PF must filter it while they do, whatever it skipped before. */
const TEST_INTERFACE = "lo0";
// An interface name as the kernel makes them (IFNAMSIZ 16 with its NUL): letters, digits, `.`, `_`.
const INTERFACE_NAME = /^[A-Za-z0-9_.]{1,15}$/;

/** The anchors and lo0 client addresses of the session run by process `pid`. */
export function sessionNames(pid) {
  return {
    anchor: `${TEST_ANCHOR_PREFIX}${pid}`,
    blockAnchor: `${TEST_ANCHOR_PREFIX}${pid}-block`,
    // 127.0.0.0/8 is lo0's; these are not configured on a Mac (127.0.0.1 is). One per scenario:
    // PF's source tracking (max, limit) counts per source address across rules. The last is
    // routed.test.ts's "VM": its rules drop what arrives for it unredirected.
    aliases: [11, 12, 13, 14, 15, 16, 17].map((n) => `127.77.0.${n}`),
  };
}

function lines(text) {
  return text.split("\n").map((l) => l.trimEnd()).filter(Boolean);
}

/** pfctl's stdout, or a thrown error naming the command. */
function read(pfctl, args) {
  const r = pfctl(args);
  if (r.exitCode !== 0) throw new Error(`pfctl ${args.join(" ")} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * An anchor's listing; an anchor that does not exist lists nothing. pfctl says so on stderr
 * (`DIOCGETRULES: Invalid argument`), and its exit status is not to be relied on: main()
 * ignores the listing's result (PF-FACTS.md §4b), so either status reads as empty here.
 */
function readAnchor(pfctl, anchor, args) {
  const r = pfctl(["-a", anchor, ...args]);
  if (r.exitCode === 0) return r.stdout;
  if (/Invalid argument|does not exist/i.test(r.stderr)) return "";
  throw new Error(`pfctl -a ${anchor} ${args.join(" ")} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
}

/**
 * The interfaces `pfctl -s Interfaces -v` marks ` (skip)`, sorted (pfctl's print_iface prints
 * the name, then ` (skip)` under -v when the flag is set; Apple's pfctl(8): "When used together
 * with -v, it additionally lists which interfaces have skip rules activated").
 */
export function parseSkipped(listing) {
  return lines(listing)
    .map((l) => /^(\S+) \(skip\)$/.exec(l)?.[1])
    .filter((name) => name !== undefined)
    .sort();
}

/** The option that sets exactly these skip flags, or nothing when there are none. */
export function skipOption(interfaces) {
  const bad = interfaces.filter((i) => !INTERFACE_NAME.test(i));
  if (bad.length > 0) throw new Error(`pfctl listed skipped interfaces whose names cannot be written back: ${JSON.stringify(bad)}`);
  return interfaces.length > 0 ? [`set skip on { ${interfaces.join(" ")} }`] : [];
}

/** The skip flags the tests run with: the ones found, but never on the interface they use. */
export function testSkip(loaded) {
  return loaded.skip.filter((i) => i !== TEST_INTERFACE);
}

/**
 * The ports the tests take for listeners and forwarded host ports, from what `sysctl -n
 * net.inet.ip.portrange.first` printed: the span just below it, never below 1024. A port the
 * kernel can hand a client as its source port must not be a forwarded one: the client's
 * SYN-ACK to it on lo0 would be redirected again, and the connection hangs (meow-rs#354).
 */
export function testPorts(sysctlResult) {
  const printed = sysctlResult.exitCode === 0 ? sysctlResult.stdout.trim() : "";
  const first = /^\d{1,5}$/.test(printed) && Number(printed) <= 65535 ? Number(printed) : null;
  const below = first ?? DEFAULT_FIRST_CLIENT_PORT;
  const low = Math.max(1024, below - TEST_PORT_SPAN);
  const high = below - 1;
  if (high - low + 1 < MIN_TEST_PORTS) {
    throw new Error(`net.inet.ip.portrange.first is ${below}: clients may take almost every port, which leaves fewer than ${MIN_TEST_PORTS} below it (and above 1023) for the tests`);
  }
  const why = first !== null
    ? `below net.inet.ip.portrange.first (${first}), where the Mac's client ports start`
    : `below ${DEFAULT_FIRST_CLIENT_PORT}, macOS's default net.inet.ip.portrange.first (sysctl gave nothing usable: ${JSON.stringify((sysctlResult.stderr || printed).trim().slice(0, 200))})`;
  return { low, high, why };
}

/** What the session compares: the main ruleset, skip flags, references, status, and the `limawan` anchor. */
export function readLoadedState(pfctl) {
  return {
    nat: read(pfctl, ["-sn"]),
    rules: read(pfctl, ["-sr"]),
    // A standalone -s dummynet may print the -sa title; it is no rule.
    dummynet: lines(read(pfctl, ["-s", "dummynet"])).filter((l) => l !== "DUMMYNET RULES:").map((l) => `${l}\n`).join(""),
    skip: parseSkipped(read(pfctl, ["-s", "Interfaces", "-v"])),
    tokens: parseReferences(read(pfctl, ["-s", "References"])).map((r) => r.token).sort(),
    enabled: /^Status:\s*Enabled/m.test(read(pfctl, ["-s", "info"])),
    limawan: {
      nat: readAnchor(pfctl, "limawan", ["-sn"]),
      rules: readAnchor(pfctl, "limawan", ["-sr"]),
      tables: readAnchor(pfctl, "limawan", ["-s", "Tables"]),
    },
  };
}

/** Anchor points /etc/pf.conf declares, as `KIND NAME`. */
function declaredPoints(pfConf) {
  const points = new Set();
  for (const raw of pfConf.split("\n")) {
    const m = /^\s*(scrub-anchor|nat-anchor|rdr-anchor|binat-anchor|dummynet-anchor|anchor)\s+"?([^"\s]+)"?/.exec(raw.replace(/#.*/, ""));
    if (m) points.add(`${m[1]} ${m[2]}`);
  }
  return points;
}

/** Why the session must not start on this PF (empty: it may). */
export function refusals(loaded, pfConf, { acceptRuntimeRules = false } = {}) {
  const problems = [];
  if (loaded.limawan.nat.trim() || loaded.limawan.rules.trim()) {
    problems.push("the `limawan` anchor holds rules: LimaWAN forwards are live on this Mac. Run `limactl limawan down --all` first (the suite never touches them, but it reloads the main ruleset they hang from).");
  }
  const declared = declaredPoints(pfConf);
  const loadedLines = [...lines(loaded.nat), ...lines(loaded.rules), ...lines(loaded.dummynet)];
  const leftovers = loadedLines.filter((l) => l.includes(`"${TEST_ANCHOR_PREFIX}`));
  if (leftovers.length > 0) {
    problems.push(`a test anchor point is loaded (another run, or one killed outright): ${leftovers.join("; ")}. If no run is active, restore PF with the command that run printed (sudo pfctl -m -f …/base.pf.conf).`);
  }
  const foreign = loadedLines.filter((l) => {
    if (leftovers.includes(l)) return false;
    const m = POINT.exec(l);
    return !m || !declared.has(`${m[1]} ${m[2]}`);
  });
  if (foreign.length > 0 && !acceptRuntimeRules) {
    problems.push(
      `PF's loaded main ruleset holds rules /etc/pf.conf does not declare, most likely inserted at run time by a service (Internet Sharing for vmnet, a VPN): ${foreign.join("; ")}. ` +
        "Reloading the main ruleset drops them (PF-FACTS.md §4a); the suite would load them back as plain rules, which their service can then no longer remove. " +
        "Stop that service (e.g. stop your VMs) and run again, or set LIMAWAN_DARWIN_ACCEPT_RUNTIME_RULES=1 to accept that.",
    );
  }
  return problems;
}

/**
 * The main ruleset as loaded, in pfctl's order (options, scrub, translation, dummynet,
 * filtering), with the session's anchor points when `names` is given: its rdr point after the
 * loaded translation rules, its filter points after the loaded filter rules. The options are
 * the skip flags found (without lo0's when `names` is given: testSkip), which neither -sn nor
 * -sr prints and every main-ruleset load resets. Anchor points are
 * written as /etc/pf.conf writes them (`scrub-anchor "com.apple/*"`), which pfctl prints back
 * as it printed them (`… all fragment reassemble`); whether the printed form itself parses
 * is not known (PF-FACTS.md §4a). Other rules stay as printed.
 */
export function composeMain(loaded, names) {
  const asWritten = (line) => {
    const m = POINT.exec(line);
    return m ? `${m[1]} "${m[2]}"` : line;
  };
  const rules = lines(loaded.rules).map(asWritten);
  const scrub = rules.filter((l) => /^scrub(-anchor)?\s/.test(l));
  const filter = rules.filter((l) => !scrub.includes(l));
  const out = [
    ...skipOption(names ? testSkip(loaded) : loaded.skip),
    ...scrub,
    ...lines(loaded.nat).map(asWritten),
    ...(names ? [`rdr-anchor "${names.anchor}"`] : []),
    ...lines(loaded.dummynet).map(asWritten),
    ...filter,
    ...(names ? [`anchor "${names.anchor}"`, `anchor "${names.blockAnchor}"`] : []),
  ];
  return `${out.join("\n")}\n`;
}

/** What pfctl prints for the session's points, appended to what was loaded, and the skip flags the tests run with. */
function expectedWithPoints(loaded, names) {
  return {
    nat: `${loaded.nat}rdr-anchor "${names.anchor}" all\n`,
    rules: `${loaded.rules}anchor "${names.anchor}" all\nanchor "${names.blockAnchor}" all\n`,
    dummynet: loaded.dummynet,
    skip: testSkip(loaded),
  };
}

const skipped = (interfaces) => (interfaces.length > 0 ? interfaces.join(", ") : "none");

/** Differences between two readings of PF, as sentences (empty: the same). */
export function differences(before, after) {
  const found = [];
  for (const [what, key] of [["translation rules (pfctl -sn)", "nat"], ["filter rules (pfctl -sr)", "rules"], ["dummynet rules", "dummynet"]]) {
    if (before[key] !== after[key]) found.push(`main ruleset's ${what} differ:\n--- before\n${before[key]}--- after\n${after[key]}`);
  }
  if (before.skip.join(" ") !== after.skip.join(" ")) {
    found.push(`interfaces PF skips (pfctl -s Interfaces -v) differ: before ${skipped(before.skip)}, after ${skipped(after.skip)}`);
  }
  for (const key of ["nat", "rules", "tables"]) {
    if (before.limawan[key] !== after.limawan[key]) found.push(`the limawan anchor's ${key} changed:\n--- before\n${before.limawan[key]}--- after\n${after.limawan[key]}`);
  }
  const taken = after.tokens.filter((t) => !before.tokens.includes(t));
  const released = before.tokens.filter((t) => !after.tokens.includes(t));
  if (taken.length > 0) found.push(`PF enable references held now and not before: ${taken.join(", ")}`);
  if (released.length > 0) found.push(`PF enable references held before and gone now: ${released.join(", ")}`);
  if (before.enabled !== after.enabled) found.push(`PF was ${before.enabled ? "enabled" : "disabled"} and is now ${after.enabled ? "enabled" : "disabled"}`);
  return found;
}

export class Refused extends Error {
  constructor(problems) {
    super(`refusing to start; PF was not touched:\n- ${problems.join("\n- ")}`);
    this.problems = problems;
  }
}

/**
 * Start a session. `host.pfctl(args, input?)`, `host.ifconfig(args)` and `host.sysctl(args)`
 * (optional: without it the ports are picked below macOS's default) run the programs and
 * return {exitCode, stdout, stderr}; `dir` is the session's own directory (it keeps the
 * restore file and the tokens tests take); `pfConf` is /etc/pf.conf's text.
 * Throws Refused (nothing changed) or an Error after putting back what it changed.
 */
export function openSession({ host, dir, pid, pfConf, acceptRuntimeRules = false, log = () => undefined }) {
  const names = sessionNames(pid);
  let before;
  try {
    before = readLoadedState(host.pfctl);
  } catch (error) {
    throw new Refused([`reading PF's loaded state: ${error.message}`]);
  }
  const problems = refusals(before, pfConf, { acceptRuntimeRules });
  let ports = null;
  try {
    ports = testPorts(host.sysctl ? host.sysctl(["-n", "net.inet.ip.portrange.first"]) : { exitCode: 127, stdout: "", stderr: "no sysctl given" });
  } catch (error) {
    problems.push(error.message);
  }
  const lo0 = host.ifconfig(["lo0"]);
  if (lo0.exitCode !== 0) problems.push(`ifconfig lo0 failed: ${lo0.stderr.trim()}`);
  const taken = names.aliases.filter((a) => new RegExp(`\\sinet ${a.replace(/\./g, "\\.")}\\s`).test(lo0.stdout));
  if (taken.length > 0) problems.push(`lo0 already has ${taken.join(", ")}, which the suite's clients use`);
  if (problems.length > 0) throw new Refused(problems);

  const baseFile = path.join(dir, "base.pf.conf");
  const testFile = path.join(dir, "test.pf.conf");
  const tokenFile = path.join(dir, "tokens");
  try {
    writeFileSync(baseFile, composeMain(before, null));
    writeFileSync(testFile, composeMain(before, names));
  } catch (error) {
    throw new Refused([error.message]);
  }
  writeFileSync(tokenFile, "");
  for (const file of [baseFile, testFile]) {
    const check = host.pfctl(["-n", "-m", "-f", file]);
    if (check.exitCode !== 0) throw new Refused([`pfctl -n rejects the main ruleset as printed (${file}): ${check.stderr.trim()}`]);
  }

  const session = {
    names,
    ports,
    before,
    baseFile,
    tokenFile,
    mainText: readFileSync(testFile, "utf8"),
    addedAliases: [],
    closed: false,
    /** Put everything back; returns what still differs from before (empty: PF is as it was). */
    close() {
      if (session.closed) return [];
      session.closed = true;
      return closeSession(host, session, log);
    },
  };
  if (before.skip.includes(TEST_INTERFACE)) {
    log(`PF skips ${TEST_INTERFACE} on this Mac (\`set skip on ${TEST_INTERFACE}\`): the tests need PF to see it, so it is filtered while they run and skipped again after`);
  }
  log(`loading the main ruleset with the test anchor points; if this run is killed outright, restore PF with: sudo pfctl -m -f ${baseFile}`);
  const load = host.pfctl(["-m", "-f", testFile]);
  const problemsAfterLoad = [];
  if (load.exitCode !== 0) problemsAfterLoad.push(`pfctl could not load ${testFile}: ${load.stderr.trim()}`);
  else {
    // The printed rules must load back as themselves, or restoring would not restore.
    const loaded = readLoadedState(host.pfctl);
    const wanted = expectedWithPoints(before, names);
    for (const key of ["nat", "rules", "dummynet"]) {
      if (loaded[key] !== wanted[key]) problemsAfterLoad.push(`PF does not print back the ruleset it was given (${key}):\n--- expected\n${wanted[key]}--- printed\n${loaded[key]}`);
    }
    if (loaded.skip.join(" ") !== wanted.skip.join(" ")) {
      problemsAfterLoad.push(`PF does not skip the interfaces the loaded ruleset names: expected ${skipped(wanted.skip)}, pfctl -s Interfaces -v says ${skipped(loaded.skip)}`);
    }
  }
  if (problemsAfterLoad.length === 0) {
    for (const alias of names.aliases) {
      const added = host.ifconfig(["lo0", "alias", alias, "up"]);
      if (added.exitCode !== 0) {
        problemsAfterLoad.push(`ifconfig lo0 alias ${alias} failed: ${added.stderr.trim()}`);
        break;
      }
      session.addedAliases.push(alias);
    }
  }
  if (problemsAfterLoad.length > 0) {
    const left = session.close();
    throw new Error(`could not set PF up for the tests:\n- ${[...problemsAfterLoad, ...left].join("\n- ")}`);
  }
  return session;
}

function closeSession(host, session, log) {
  const failures = [];
  const attempt = (what, fn) => {
    try {
      fn();
    } catch (error) {
      failures.push(`${what}: ${error.message}`);
    }
  };
  const { names } = session;
  for (const anchor of [names.anchor, names.blockAnchor]) {
    attempt(`emptying ${anchor}`, () => {
      const r = host.pfctl(["-a", anchor, "-F", "all"]);
      if (r.exitCode !== 0 && !/Invalid argument|does not exist/i.test(r.stderr)) throw new Error(r.stderr.trim());
    });
  }
  attempt("loading the main ruleset as it was", () => {
    const r = host.pfctl(["-m", "-f", session.baseFile]);
    if (r.exitCode !== 0) throw new Error(`${r.stderr.trim()} — restore it with: sudo pfctl -m -f ${session.baseFile}`);
  });
  attempt("releasing the tests' PF references", () => {
    const ours = existsSync(session.tokenFile) ? lines(readFileSync(session.tokenFile, "utf8")) : [];
    const held = parseReferences(read(host.pfctl, ["-s", "References"])).map((r) => r.token);
    for (const token of ours.filter((t) => held.includes(t))) {
      log(`releasing PF reference ${token}, which a test left held`);
      const r = host.pfctl(["-X", token]);
      if (r.exitCode !== 0) throw new Error(`pfctl -X ${token}: ${r.stderr.trim()}`);
    }
  });
  for (const alias of session.addedAliases) {
    attempt(`removing lo0 alias ${alias}`, () => {
      const r = host.ifconfig(["lo0", "-alias", alias]);
      if (r.exitCode !== 0) throw new Error(r.stderr.trim());
    });
  }
  attempt("reading PF back", () => {
    const after = readLoadedState(host.pfctl);
    failures.push(...differences(session.before, after));
    for (const anchor of [names.anchor, names.blockAnchor]) {
      const left = readAnchor(host.pfctl, anchor, ["-sn"]) + readAnchor(host.pfctl, anchor, ["-sr"]);
      if (left.trim()) failures.push(`${anchor} still holds rules:\n${left}`);
    }
  });
  return failures;
}

/** Tests record each PF enable reference they take, so a crashed test's is released too. */
export function recordToken(tokenFile, token) {
  appendFileSync(tokenFile, `${token}\n`);
}
