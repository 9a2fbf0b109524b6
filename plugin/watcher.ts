// The reconciler behind `watch`: event sources (Lima's own event stream, the instance
// directories, the DHCP leases, a periodic safety net) feed one coalescing trigger; each run
// converges the host to "every running, annotated VM forwarded" with the same engine as up.
import { createHash } from "node:crypto";
import { existsSync, watch as fsWatch, type FSWatcher } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { describeAction } from "../compiler/plan.js";
import type { Context } from "./context.js";
import { converge } from "./converge.js";
import { desiredFromLima, type Skipped } from "./desired.js";
import { CliError } from "./errors.js";
import { renderDiagnostics } from "../compiler/render-diagnostics.js";

export interface WatchOptions {
  /** Coalescing window: a burst of events becomes one run. */
  debounceMs: number;
  /** Safety-net `limactl list` reconcile (crashes, `stop -f`). */
  intervalMs: number;
  /** Retry back-off after a failed run: doubles up to maxBackoffMs. */
  minBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_WATCH_OPTIONS: WatchOptions = { debounceMs: 40, intervalMs: 30_000, minBackoffMs: 1_000, maxBackoffMs: 60_000 };

export class Watcher {
  private reasons = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  private backoff: number;
  private readonly closers: Array<() => void> = [];
  private readonly reported = new Map<string, string>();
  private readonly instanceWatchers = new Map<string, FSWatcher>();
  private readonly lastState = new Map<string, string>();
  private leasesHash = "";
  private limaStream = false;
  /** Said once per change: the anchor points are missing and the watcher does not restore them. */
  private anchorPointsMissing = false;
  /** After a failed run, no new run before this time, whatever events say (back-off). */
  private notBefore = 0;

  constructor(private readonly ctx: Context, private readonly options: WatchOptions = DEFAULT_WATCH_OPTIONS) {
    this.backoff = options.minBackoffMs;
  }

  async start(): Promise<void> {
    this.log("watching Lima instances under " + this.ctx.environment.paths.limaHome);
    await this.watchLimaHome();
    await this.watchLeases();
    await this.followLimaEvents();
    const interval = setInterval(() => this.trigger("periodic check"), this.options.intervalMs);
    this.closers.push(() => clearInterval(interval));
    this.trigger("watcher started");
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const close of this.closers) close();
    for (const w of this.instanceWatchers.values()) w.close();
  }

  trigger(reason: string, delayMs = this.options.debounceMs): void {
    if (this.stopped) return;
    this.reasons.add(reason);
    if (this.running) return; // picked up when the current run ends
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), Math.max(delayMs, this.notBefore - Date.now()));
  }

  private async run(): Promise<void> {
    this.timer = null;
    if (this.running || this.stopped) return;
    this.running = true;
    const reasons = [...this.reasons];
    this.reasons.clear();
    let retryIn: number | null = null;
    try {
      let waiting: string[] = [];
      // Ask Lima while pfctl is being asked: one fewer round of process starts per event.
      const listing = this.ctx.lima.list();
      listing.catch(() => undefined); // awaited (and its error reported) inside the run
      const result = await converge(this.ctx, async (state) => {
        const desired = await desiredFromLima(this.ctx, state.vms, listing, state.heldDown);
        this.reportSkipped(desired.skipped);
        waiting = desired.waitingForAddress;
        return desired.vms;
      }, { restorePfConf: false });
      if (result.anchorPointsMissing !== this.anchorPointsMissing) {
        this.anchorPointsMissing = result.anchorPointsMissing;
        if (result.anchorPointsMissing) {
          this.log("the limawan anchor points are missing from PF's loaded ruleset, so forwarded ports do not work; run `sudo limactl limawan up --all` (or install) to restore them");
        }
      }
      if (result.actions.length > 0) {
        // +added, ~changed (address or annotation), -removed
        const { before, after } = result;
        const what = [
          ...Object.values(after.vms)
            .filter((vm) => JSON.stringify(before.vms[vm.instance]) !== JSON.stringify(vm))
            .map((vm) => `${vm.instance in before.vms ? "~" : "+"}${vm.instance} (${vm.address}, ${vm.spec.forwards.length} forward(s))`),
          ...Object.keys(before.vms).filter((n) => !(n in after.vms)).map((n) => `-${n}`),
        ];
        this.log(`${what.join(" ") || result.actions.map(describeAction).join("; ")}; reason: ${reasons.join(", ")}`);
      }
      this.backoff = this.options.minBackoffMs;
      this.notBefore = 0;
      if (waiting.length > 0) retryIn = 1_000; // DHCP lags the running event; the leases watch usually wins
    } catch (error) {
      const message = error instanceof CliError ? `${error.message}${error.detail ? `: ${error.detail}` : ""}` : String(error);
      this.log(`run failed (${message}); retrying in ${Math.round(this.backoff / 1000)}s`);
      retryIn = this.backoff;
      this.notBefore = Date.now() + this.backoff;
      this.backoff = Math.min(this.backoff * 2, this.options.maxBackoffMs);
      reasons.forEach((r) => this.reasons.add(r));
    } finally {
      this.running = false;
    }
    if (this.reasons.size > 0) this.trigger("events during the last run", retryIn ?? this.options.debounceMs);
    else if (retryIn !== null) this.trigger("retry", retryIn);
  }

  private reportSkipped(skipped: readonly Skipped[]): void {
    for (const s of skipped) {
      const key = JSON.stringify(s);
      if (this.reported.get(s.instance) === key) continue; // said once per change, not every run
      this.reported.set(s.instance, key);
      this.log(`${s.instance}: ${s.reason}`);
      if (s.diagnostics.length > 0) this.ctx.out.info(renderDiagnostics(s.diagnostics, new Map()));
    }
  }

  /** Instance directories appearing/disappearing, ha.pid, lima.yaml and (without Lima's stream) ha.stdout.log. */
  private async watchLimaHome(): Promise<void> {
    const home = this.ctx.environment.paths.limaHome;
    const scan = async () => {
      const entries = await readdir(home, { withFileTypes: true }).catch(() => []);
      const names = new Set(entries.filter((e) => e.isDirectory() && !e.name.startsWith("_") && !e.name.startsWith(".")).map((e) => e.name));
      for (const name of names) if (!this.instanceWatchers.has(name)) this.watchInstance(name);
      for (const [name, watcher] of this.instanceWatchers) {
        if (!names.has(name)) {
          watcher.close();
          this.instanceWatchers.delete(name);
          this.trigger(`${name} deleted`);
        }
      }
    };
    await scan();
    try {
      const watcher = fsWatch(home, () => void scan());
      watcher.on("error", () => undefined);
      this.closers.push(() => watcher.close());
    } catch {
      this.log(`cannot watch ${home}; relying on Lima's events and the periodic check`);
    }
  }

  private watchInstance(name: string): void {
    const dir = path.join(this.ctx.environment.paths.limaHome, name);
    try {
      const watcher = fsWatch(dir, (_event, file) => {
        if (file === "lima.yaml") this.trigger(`${name}/lima.yaml changed`);
        else if (file === "ha.pid") {
          // A new ha.pid means a start in progress: Lima's `running` event (or, without the
          // stream, the lease) says when it is worth a run. Its disappearance is the only
          // sign of `limactl stop -f` or a crash.
          const present = existsSync(path.join(dir, file));
          if (!present) this.trigger(`${name} host agent gone`);
          else if (!this.limaStream) this.trigger(`${name} host agent started`);
        }
        else if (file === "ha.stdout.log" && !this.limaStream) void this.readLastEvent(name, path.join(dir, file));
      });
      watcher.on("error", () => undefined);
      this.instanceWatchers.set(name, watcher);
    } catch {
      // The directory went away between the scan and the watch.
    }
  }

  private async readLastEvent(name: string, file: string): Promise<void> {
    const text = await readFile(file, "utf8").catch(() => "");
    const last = text.trimEnd().split("\n").pop();
    if (last) this.onEvent(name, last);
  }

  private onEvent(instance: string, line: string): void {
    let status: { running?: boolean; exiting?: boolean };
    try {
      const parsed = JSON.parse(line) as { status?: typeof status; event?: { status?: typeof status } };
      status = parsed.event?.status ?? parsed.status ?? {};
    } catch {
      return;
    }
    const state = status.exiting ? "stopping" : status.running ? "running" : "booting";
    // Port-forward events repeat `running` over and over: only a change of state matters.
    if (this.lastState.get(instance) === state) return;
    this.lastState.set(instance, state);
    if (state !== "booting") this.trigger(`${instance} ${state}`, 0);
  }

  private async watchLeases(): Promise<void> {
    const file = this.ctx.environment.paths.dhcpdLeases;
    const check = async () => {
      const hash = createHash("sha256").update(await readFile(file, "utf8").catch(() => "")).digest("hex");
      if (hash !== this.leasesHash) {
        const first = this.leasesHash === "";
        this.leasesHash = hash;
        if (!first) this.trigger("DHCP leases changed", 0);
      }
    };
    await check();
    try {
      // bootpd replaces the file: watch its directory, not the inode.
      const watcher = fsWatch(path.dirname(file), (_event, name) => {
        if (name === null || name === path.basename(file)) void check();
      });
      watcher.on("error", () => undefined);
      this.closers.push(() => watcher.close());
    } catch {
      this.log(`cannot watch ${path.dirname(file)}; address changes are seen by the periodic check`);
    }
  }

  /** `limactl watch --json` (Lima ≥ 2.1), restarted with back-off if it dies. */
  private async followLimaEvents(): Promise<void> {
    const version = await this.ctx.runner.run("limactl", ["--version"], { asUser: true }).catch(() => null);
    const match = /version v?(\d+)\.(\d+)/.exec(version?.stdout ?? "");
    if (!match || Number(match[1]) < 2 || (Number(match[1]) === 2 && Number(match[2]) < 1)) {
      this.log("limactl watch needs Lima 2.1; following the instance directories instead");
      return;
    }
    let delay = this.options.minBackoffMs;
    let current: ReturnType<Context["runner"]["stream"]> | null = null;
    this.closers.push(() => current?.kill("SIGTERM"));
    const spawn = () => {
      if (this.stopped) return;
      const child = this.ctx.runner.stream("limactl", ["watch", "--json"], { asUser: true });
      current = child;
      this.limaStream = true;
      const lines = createInterface({ input: child.stdout! });
      lines.on("line", (line) => {
        delay = this.options.minBackoffMs;
        const instance = /"instance"\s*:\s*"([^"]+)"/.exec(line)?.[1];
        if (instance) this.onEvent(instance, line);
      });
      child.then(() => {
        this.limaStream = false;
        if (this.stopped) return;
        this.log(`limactl watch exited; restarting in ${Math.round(delay / 1000)}s`);
        setTimeout(spawn, delay);
        delay = Math.min(delay * 2, this.options.maxBackoffMs);
      });
    };
    spawn();
  }

  private log(message: string): void {
    this.ctx.out.info(`${new Date().toISOString()} ${message}`);
  }
}
