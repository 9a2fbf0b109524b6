// `limactl watch [--json] [--history] [INSTANCE…]` (Lima ≥ 2.1, cmd/limactl/watch.go): one line
// per host-agent event of every instance, `{"instance":"web","event":{"time":…,"status":{…}}}`
// with --json. Without names it also follows instances created later. Status lines go to stderr.
// It runs until a signal ends it (limactl installs no handler: SIGINT/SIGTERM kill it).
import { existsSync, watch } from "node:fs";
import path from "node:path";
import { parseFlags } from "./cli-flags.mjs";
import { EventTail, POLL_MS } from "./event-tail.mjs";
import { dateTime, goQuoteRaw, nowNs, parseRfc3339Ns } from "./go-format.mjs";
import { log } from "./logrus.mjs";
import { inspect, instanceNames, limaHome, logLoadWarnings } from "./lima-store.mjs";

const status = (message) => process.stderr.write(`${dateTime()} ${message}\n`);

export function watchCommand(args) {
  const { flags, positional } = parseFlags(args, { json: { type: "bool" }, history: { type: "bool" }, verbose: { type: "bool" } });
  const home = limaHome();
  const begin = flags.history ? null : nowNs();
  const watchAll = positional.length === 0;
  const tails = new Map();

  const follow = (name) => {
    if (tails.has(name)) return;
    const inst = inspect(home, name);
    if (!inst || inst.brokenDir) {
      log.warn(`Failed to inspect instance ${goQuoteRaw(name)}`, { error: `open ${path.join(home, name, "lima.yaml")}: no such file or directory` });
      return;
    }
    logLoadWarnings(inst); // Lima loads each instance it follows: one Non-strict YAML warning each
    const tail = new EventTail(
      path.join(inst.dir, "ha.stdout.log"),
      begin,
      (event) => print(name, event),
      (message) => {
        log.warn(`Watcher for instance ${goQuoteRaw(name)} stopped`, { error: message });
        tail.stop();
      },
    );
    tails.set(name, tail.start());
  };

  const print = (name, event) => {
    if (flags.json) {
      process.stdout.write(JSON.stringify({ instance: name, event }) + "\n");
      return;
    }
    const ns = parseRfc3339Ns(event.time);
    const stamp = ns === null ? "" : dateTime(new Date(Number(ns / 1_000_000n)));
    const line = (message) => process.stdout.write(`${stamp} ${name} | ${message}\n`);
    const s = event.status ?? {};
    if (s.running) line(s.degraded ? "running (degraded)" : "running");
    if (s.exiting) line("exiting");
    if (s.sshLocalPort) line(`ssh available on port ${s.sshLocalPort}`);
    for (const e of s.errors ?? []) line(`error: ${e}`);
    if (s.portForward) {
      const pf = s.portForward;
      const text = { forwarding: `forwarding ${pf.protocol} ${pf.guestAddr} to ${pf.hostAddr}`, "not-forwarding": `not forwarding ${pf.protocol} ${pf.guestAddr}`, stopping: `stopping forwarding ${pf.protocol} ${pf.guestAddr}`, failed: `failed to forward ${pf.protocol} ${pf.guestAddr}: ${pf.error}` }[pf.type];
      if (text) line(text);
    }
  };

  const initial = watchAll ? instanceNames(home) : positional;
  if (watchAll && initial.length === 0) status("No instances found");
  for (const name of initial) follow(name);

  status("Watching for events...");
  if (watchAll) {
    // New instances as Lima's watcher sees them (fsnotify on $LIMA_HOME, cmd/limactl/watch.go):
    // a directory is looked at once, when its create event arrives, and followed only if its
    // lima.yaml is already there — `limactl create` makes the directory first, so it is often
    // missed. Without $LIMA_HOME at the start there is nothing to watch, and nothing is ever
    // noticed. Here fs.watch gives the create events, and a poll those fs.watch drops.
    const seen = new Set(initial);
    const scan = () => {
      const names = instanceNames(home);
      for (const name of seen) if (!names.includes(name)) seen.delete(name); // removed: a new one may come
      for (const name of names) {
        if (seen.has(name)) continue;
        seen.add(name);
        if (tails.has(name) || !existsSync(path.join(home, name, "lima.yaml"))) continue;
        status(`New instance detected: ${name}`);
        follow(name);
      }
    };
    try {
      watch(home, () => scan()).on("error", () => undefined);
      setInterval(scan, POLL_MS);
    } catch (error) {
      log.warn("Failed to watch lima directory for new instances", { error: `lstat ${home}: ${error.code === "ENOENT" ? "no such file or directory" : error.message}` });
    }
  }
  // Stand-in safety, not Lima: a test sandbox removed under a leftover watcher ends it.
  const existed = existsSync(home);
  setInterval(() => {
    if (existed && !existsSync(home)) {
      process.stderr.write(`limactl watch (LimaWAN test stand-in): ${home} is gone; exiting\n`);
      process.exit(1);
    }
  }, 250);
}
