// Watcher reaction (run by `npm run bench`, not by `npm test`): the watch daemon driven as a user
// drives it, against the stand-ins, for this checkout's build and for the build before it
// (default: the merge-base with main; BENCH_BASELINE=<commit>, or `none` to skip), side by side
// in one run on one machine. One VM (`keep`) stays forwarded; another (`web`) is started and
// stopped BENCH_WATCH_CYCLES times (default 30), the two builds taking turns cycle by cycle so
// drift in the machine's load hits both alike.
//
// For a start: from the VM being up — its DHCP lease written or Lima's `running` event, whichever
// came first (the daemon may act on the lease) — to the anchor load that made its rule live.
// For a stop: from Lima's `exiting` event to the load that took the rule out. Times come from the
// host agent's own timestamps and the pfctl stand-in's call log (written when a call ends), so
// polling adds nothing. Host commands: every launch of a stand-in (pfctl, sysctl, route,
// ifconfig, arp, launchctl, limactl), logged by a shim laid over each launcher, counted from the
// action that began the cycle to the load ("on the path"), and from the load until the daemon
// is quiet again ("after": re-checks off the path). Each cycle waits for that quiet.
//
// Fails loudly only for a real regression: this build slower than the one before it beyond
// noise (median ratio over BENCH_WATCH_MAX_RATIO, default 1.3, and slower by more than the
// baseline's interquartile range), more than 2 host commands on the
// path per event, a main-ruleset load or `pfctl -d` by the daemon, or idle CPU use. Never on
// absolute times.
import { execFileSync, execSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { expect, it } from "vitest";
import { CLI, createSandbox, standin, STANDIN_BIN, SYSTEM_STANDINS, type Sandbox, type StandinCall } from "../e2e/harness.js";

const CYCLES = Number(process.env.BENCH_WATCH_CYCLES ?? 30);
const MAX_RATIO = Number(process.env.BENCH_WATCH_MAX_RATIO ?? 1.3);
const MAX_COMMANDS_PER_EVENT = 2;
/** No host command for this long: the daemon is idle (its re-check after a burst included). */
const QUIET_MS = 1_200;
const REPO = path.resolve(import.meta.dirname, "../..");

const annotated = (port: number) => `networks:\n  - lima: shared\nx-limawan: |\n  interface en0\n  expose ssh 22 as ${port}\n`;

// ---------------------------------------------------------------------------------------------
// The build before this change.

function git(args: string[]): string {
  return execFileSync("git", args, { cwd: REPO, encoding: "utf8" }).trim();
}

/** The baseline's CLI, built once per commit into a temporary directory (reused by later runs). */
function baselineBuild(): { commit: string; cli: string } | null {
  const asked = process.env.BENCH_BASELINE;
  if (asked === "none") return null;
  const commit = git(["rev-parse", asked ?? git(["merge-base", "HEAD", "main"])]);
  const dir = path.join(os.tmpdir(), `limawan-bench-baseline-${commit.slice(0, 12)}`);
  if (!existsSync(path.join(dir, ".built"))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    // The commit's tree as a plain directory (the repository and its worktrees stay untouched).
    execSync(`git archive ${commit} | tar -x -C ${JSON.stringify(dir)}`, { cwd: REPO, stdio: ["ignore", "ignore", "inherit"] });
    symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
    execFileSync("npm", ["run", "build"], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
    writeFileSync(path.join(dir, ".built"), `${commit}\n`);
  }
  return { commit, cli: path.join(dir, "plugin/bin/limactl-limawan") };
}

// ---------------------------------------------------------------------------------------------
// Counting host commands: a shim over every stand-in launcher the CLI can reach.

interface Launch { at: number; program: string; args: string }

/** Lay a logging shim over the sandbox's launchers; returns the log's reader. */
function countLaunches(sb: Sandbox): () => Launch[] {
  const log = path.join(sb.paths.root, "launches.log");
  writeFileSync(log, "", { mode: 0o666 });
  chmodSync(log, 0o666); // limactl runs as the VM user
  const shim = (program: string, target: string) =>
    `#!/bin/bash\nprintf '%s %s %s\\n' "$EPOCHREALTIME" ${program} "$*" >> ${log}\nPATH=${path.dirname(process.execPath)}:$PATH exec ${target} "$@"\n`;
  for (const [tool, dir] of Object.entries(SYSTEM_STANDINS)) {
    writeFileSync(path.join(sb.paths.root, "macos", dir, tool), shim(tool, standin(tool)), { mode: 0o755 });
  }
  const limactl = path.join(sb.paths.root, "user-bin", "limactl");
  rmSync(limactl, { force: true });
  writeFileSync(limactl, shim("limactl", path.join(STANDIN_BIN, "limactl")), { mode: 0o755 });
  return () =>
    readFileSync(log, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [at, program, ...args] = line.split(" ");
        return { at: Number(at) * 1000, program: program!, args: args.join(" ") };
      });
}

// ---------------------------------------------------------------------------------------------
// One build's daemon in its own sandbox.

interface Measured { up: number[]; down: number[]; upPath: number[]; downPath: number[]; upAfter: number[]; downAfter: number[] }

interface Subject {
  name: string;
  sb: Sandbox;
  watcher: ResultPromise;
  launches: () => Launch[];
  measured: Measured;
  /** pfctl calls before the daemon started (install's). */
  pfctlBefore: number;
}

async function subject(name: string, cli: string): Promise<Subject> {
  const sb = await createSandbox();
  await sb.addInstance("keep", annotated(2201));
  await sb.addInstance("web", annotated(2222));
  // As on a Mac with the daemon installed: anchor points already in pf.conf and loaded.
  const installed = await sb.run(["install"]);
  if (installed.exitCode !== 0) throw new Error(installed.stderr);
  await sb.startVm("keep");
  const launches = countLaunches(sb);
  const pfctlBefore = sb.pfctlCalls().length;
  const [file, ...argv] = sb.inMacos([process.execPath, cli, "watch"]);
  const watcher = execa(file!, argv, { env: { ...sb.env, LIMAWAN_WATCH_INTERVAL_MS: "3600000" }, extendEnv: false, reject: false, detached: true });
  const s: Subject = { name, sb, watcher, launches, measured: { up: [], down: [], upPath: [], downPath: [], upAfter: [], downAfter: [] }, pfctlBefore };
  await until(() => loads(s).length > 0, `${name}: keep forwarded`);
  await quiet(s);
  return s;
}

const loads = (s: Subject): StandinCall[] => s.sb.pfctlCalls().filter((c) => c.argv.join(" ") === "-a limawan -f -" || c.argv.join(" ") === "-a limawan -F all");

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Until the daemon has launched nothing for QUIET_MS. */
async function quiet(s: Subject): Promise<void> {
  for (;;) {
    const last = s.launches().at(-1)?.at ?? 0;
    const idleFor = Date.now() - last;
    if (idleFor >= QUIET_MS) return;
    await new Promise((r) => setTimeout(r, QUIET_MS - idleFor + 10));
  }
}

function eventTime(s: Subject, key: "running" | "exiting"): number {
  const lines = readFileSync(`${s.sb.paths.limaHome}/web/ha.stdout.log`, "utf8").trim().split("\n").reverse();
  for (const line of lines) {
    const event = JSON.parse(line) as { time: string; status: Record<string, unknown> };
    if (event.status[key]) return Date.parse(event.time);
  }
  throw new Error(`no ${key} event`);
}

/** One start and one stop of `web`. */
async function cycle(s: Subject): Promise<void> {
  for (const phase of ["up", "down"] as const) {
    const began = Date.now();
    const loadsBefore = loads(s).length;
    if (phase === "up") await s.sb.startVm("web");
    else await s.sb.stopVm("web");
    await until(() => loads(s).length > loadsBefore, `${s.name}: a load after web ${phase === "up" ? "started" : "stopped"}`, 10_000);
    const live = Date.parse(loads(s)[loadsBefore]!.time);
    const from = phase === "up" ? Math.min(eventTime(s, "running"), statSync(s.sb.paths.dhcpdLeases).mtimeMs) : eventTime(s, "exiting");
    await quiet(s);
    const during = s.launches().filter((l) => l.at >= began);
    s.measured[phase].push(Math.round(live - from));
    s.measured[`${phase}Path`].push(during.filter((l) => l.at <= live).length);
    s.measured[`${phase}After`].push(during.filter((l) => l.at > live).length);
  }
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

/** The daemon's own process (the namespace's shell execs into node; the CLI's start.cjs runs in it). */
async function idleCpu(s: Subject): Promise<number> {
  const before = cpuSeconds(s.watcher.pid!);
  await new Promise((r) => setTimeout(r, 5_000));
  return (cpuSeconds(s.watcher.pid!) - before) / 5;
}

const percentile = (values: readonly number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!;
const median = (values: readonly number[]) => percentile(values, 50);

it("watch reaction: this build against the build before it", async () => {
  const baseline = baselineBuild();
  const subjects: Subject[] = [];
  try {
    subjects.push(await subject("this build", CLI));
    if (baseline) subjects.push(await subject(`baseline ${baseline.commit.slice(0, 12)}`, baseline.cli));
    for (let i = 0; i < CYCLES; i++) {
      // Alternate which build goes first, so neither always follows the other's quiet period.
      for (const s of i % 2 === 0 ? subjects : [...subjects].reverse()) await cycle(s);
    }
    const idle = await Promise.all(subjects.map(idleCpu));

    const lines: string[] = [`watch reaction, ${CYCLES} start/stop cycles of one VM while another stays forwarded (${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)})`];
    for (const [i, s] of subjects.entries()) {
      const m = s.measured;
      lines.push(
        `  ${s.name.padEnd(22)} start → live: median ${median(m.up)} ms, p95 ${percentile(m.up, 95)} ms; stop → gone: median ${median(m.down)} ms, p95 ${percentile(m.down, 95)} ms`,
        `  ${"".padEnd(22)} host commands per event on the path: start ${median(m.upPath)} (max ${Math.max(...m.upPath)}), stop ${median(m.downPath)} (max ${Math.max(...m.downPath)}); after the load: start ${median(m.upAfter)}, stop ${median(m.downAfter)}; idle CPU ${(idle[i]! * 100).toFixed(2)}%`,
      );
    }
    const [current, before] = subjects;
    const ratios: Record<string, number> = {};
    if (before) {
      for (const [what, key] of [["start", "up"], ["stop", "down"]] as const) {
        ratios[`${what} median`] = median(current!.measured[key]) / median(before.measured[key]);
        ratios[`${what} p95`] = percentile(current!.measured[key], 95) / percentile(before.measured[key], 95);
        ratios[`${what} commands`] = median(current!.measured[`${key}Path`]) / median(before.measured[`${key}Path`]);
      }
      lines.push(`  ratio this/baseline: ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")}`);
    }
    const example = current!.launches().filter((l) => l.program !== "limactl" || !l.args.startsWith("watch"));
    if (process.env.BENCH_WATCH_LOG) lines.push(...example.slice(-12).map((l) => `    ${new Date(l.at).toISOString()} ${l.program} ${l.args}`));
    console.log(lines.join("\n"));

    // A real regression only: never absolute times.
    const pfCalls = current!.sb.pfctlCalls().slice(current!.pfctlBefore).map((c) => c.argv.join(" "));
    expect(pfCalls.filter((a) => a === "-d" || (/(^| )-f /.test(a) && !/-a /.test(a) && !/-n/.test(a))), "main-ruleset loads or pfctl -d by the daemon").toEqual([]);
    expect(median(current!.measured.upPath), "host commands per start").toBeLessThanOrEqual(MAX_COMMANDS_PER_EVENT);
    expect(median(current!.measured.downPath), "host commands per stop").toBeLessThanOrEqual(MAX_COMMANDS_PER_EVENT);
    expect(idle[0], "idle CPU").toBeLessThan(0.01);
    if (before) {
      // Slower by the ratio *and* by more than the baseline's own spread (its interquartile
      // range): at medians of tens of milliseconds a few ms of scheduling noise is 1.3x.
      for (const [what, key] of [["start", "up"], ["stop", "down"]] as const) {
        const slower = median(current!.measured[key]) - median(before.measured[key]);
        const spread = percentile(before.measured[key], 75) - percentile(before.measured[key], 25);
        const regressed = ratios[`${what} median`]! > MAX_RATIO && slower > spread;
        expect(regressed, `${what} reaction slower than the build before: median ratio ${ratios[`${what} median`]!.toFixed(2)}, ${Math.round(slower)} ms beyond a spread of ${Math.round(spread)} ms`).toBe(false);
      }
    }
  } finally {
    for (const s of subjects) {
      try {
        process.kill(-s.watcher.pid!, "SIGKILL"); // its process group: the `limactl watch` it runs too
      } catch {
        // already gone
      }
      await s.sb.cleanup();
    }
  }
}, 60 * 60_000);
