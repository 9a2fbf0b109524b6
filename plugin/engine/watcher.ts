// The scheduler behind `watch`: event sources (Lima's event stream, the instance directories,
// the DHCP leases, a periodic safety net) feed one coalescing trigger; each run converges the
// host to "every running, annotated VM forwarded" with the same engine as `up`.
//
// A run for an event loads the anchor once, and asks Lima only when the events do not say
// enough (known-instances.ts: an instance not in the last listing, or one told running that
// bootpd's leases do not place yet). What PF, sysctl and the default route hold comes from the
// host model (host-model.ts). Both are read in full at start, in the periodic check, after a
// failed run, and once after each burst of loads, when nothing else is pending (off the path
// from a VM's start to its rules); a lima.yaml edit or a deleted instance asks Lima again.
import type { Context } from "../context.js";
import { CliError } from "../errors.js";
import { atLeast } from "../host/lima.js";
import type { LimaEvent, LimaPhase } from "../host/lima-events.js";
import type { StreamEnd } from "../host/run.js";
import { compileCache } from "./compile-cache.js";
import { converge } from "./converge.js";
import { desiredForRunning, sourcesOf, WATCH_POLICY, type Skipped } from "./desired-state.js";
import { HostModel } from "./host-model.js";
import { KnownInstances } from "./known-instances.js";
import { describeAction } from "./plan-actions.js";
import { RouterKeeper } from "./router-keeper.js";
import { changeLine } from "./summary.js";

export interface WatchOptions {
  /** Coalescing window: a burst of events becomes one run. */
  debounceMs: number;
  /** Safety-net `limactl list` reconcile (crashes, `stop -f`). */
  intervalMs: number;
  /** Retry back-off after a failed run: doubles up to maxBackoffMs. */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** A full look at PF, sysctl and the route this long after the last load of a burst. */
  recheckMs: number;
  /** Run as the user with the router's new public address as JSON on stdin (`--on-public-address`). */
  onPublicAddress?: string | null;
}

/** The reason of the full look after a burst of loads. */
const RECHECK = "re-check after loading";

export const DEFAULT_WATCH_OPTIONS: WatchOptions = { debounceMs: 40, intervalMs: 30_000, minBackoffMs: 1_000, maxBackoffMs: 60_000, recheckMs: 500 };

export class Watcher {
  private reasons = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  private backoff: number;
  private readonly closers: Array<() => void> = [];
  private readonly reported = new Map<string, string>();
  private readonly lastPhase = new Map<string, LimaPhase>();
  /** Lima's own event stream is being followed: ha.pid and ha.stdout.log need not be, for the instances it covers. */
  private limaStream = false;
  /**
   * The instances the current `limactl watch` follows: those whose lima.yaml existed when it
   * started. It misses an instance whose directory came before its lima.yaml (`limactl create`
   * makes both, in that order) and every instance made after it began without a Lima home:
   * those are followed through their own files, as without a stream.
   */
  private covered = new Set<string>();
  /** Starts `limactl watch` again at once (set while the stream is followed). */
  private restartStream: (() => void) | null = null;
  /** Said once per fight: another tool keeps removing the anchor points, and the watcher pauses. */
  private fightUntil: number | null = null;
  /** After a failed run, no new run before this time, whatever events say (back-off). */
  private notBefore = 0;
  /** What PF, sysctl and the route hold between full looks. */
  private readonly model = new HostModel();
  private readonly compiled = compileCache();
  /** Lima's last listing and what events said since. */
  private readonly instances = new KnownInstances();
  /** The next run's reasons that are not events telling a status (an edit, a deletion, a full look): the run asks Lima. */
  private readonly asksLima = new Set<string>();
  /** The next run looks at everything (periodic check, the re-check after a burst). */
  private fullLook = false;
  /** …and only for the re-check after a burst, which an event puts off again. */
  private fullLookIsRecheck = false;
  private recheckTimer: NodeJS.Timeout | null = null;

  /** Router mappings of `router` forwards: renewed, healed, deleted after each run. */
  private readonly router: RouterKeeper;

  constructor(private readonly ctx: Context, private readonly options: WatchOptions = DEFAULT_WATCH_OPTIONS) {
    this.backoff = options.minBackoffMs;
    this.router = new RouterKeeper(ctx, (reason, delayMs) => this.trigger(reason, delayMs), (line) => this.log(line), options.onPublicAddress ?? null);
  }

  async start(): Promise<void> {
    const { lima, leases } = this.ctx.host;
    this.log(`watching Lima instances under ${lima.limaHome}`);
    const instances = await lima.watchInstances({
      configChanged: (name) => this.trigger(`${name}/lima.yaml changed`),
      // A new ha.pid means a start in progress: Lima's `running` event (or, without the
      // stream, the lease) says when it is worth a run. Its disappearance is the only sign of
      // `limactl stop -f` or a crash.
      hostAgent: (name, present) => {
        // Lima lists an instance as Running exactly while its host agent runs (ha.pid).
        this.instances.tell(name, present ? "Running" : "Stopped");
        if (!present) this.trigger(`${name} host agent gone`, this.options.debounceMs, false, false);
        else if (!this.streamFollows(name)) this.trigger(`${name} host agent started`, this.options.debounceMs, false, false);
      },
      deleted: (name) => {
        this.covered.delete(name); // one made again under this name is new to the stream
        this.trigger(`${name} deleted`);
      },
      wantsEventLog: (name) => !this.streamFollows(name),
      event: (event) => this.onEvent(event),
      // `limactl watch` begun without a Lima home never notices instances made in it: start it again.
      homeAppeared: () => {
        this.log(`${lima.limaHome} now exists; following Lima's events there`);
        this.restartStream?.();
        this.trigger(`${lima.limaHome} appeared`);
      },
    });
    this.closers.push(() => instances.close());
    if (instances.watching === "parent") this.log(`${lima.limaHome} does not exist yet; watching for it`);
    else if (!instances.watching) this.log(`cannot watch ${lima.limaHome}; relying on Lima's events and the periodic check`);
    const closeLeases = await leases.watch(() => this.trigger("DHCP leases changed", 0, false, false));
    if (closeLeases) this.closers.push(closeLeases);
    else this.log(`cannot watch the directory of ${leases.file}; address changes are seen by the periodic check`);
    await this.followLimaEvents();
    const interval = setInterval(() => this.trigger("periodic check", this.options.debounceMs, true), this.options.intervalMs);
    this.closers.push(() => clearInterval(interval));
    this.trigger("watcher started");
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    this.router.stop();
    for (const close of this.closers) close();
  }

  /**
   * `full`: look at PF, sysctl and the route again rather than trust the model; `asksLima`:
   * false for an event that tells an instance's status (or an address: the leases).
   */
  trigger(reason: string, delayMs = this.options.debounceMs, full = false, asksLima = true): void {
    if (this.stopped) return;
    this.reasons.add(reason);
    if (asksLima) this.asksLima.add(reason);
    if (full) {
      this.fullLookIsRecheck = reason === RECHECK && !(this.fullLook && !this.fullLookIsRecheck);
      this.fullLook = true;
    } else if (this.fullLook && this.fullLookIsRecheck && !this.running) {
      // An event before the pending re-check ran: its run stays on the model, the re-check comes after.
      this.fullLook = false;
      this.fullLookIsRecheck = false;
      this.reasons.delete(RECHECK);
      this.asksLima.delete(RECHECK);
      this.scheduleRecheck();
    }
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
    if (this.fullLook) this.model.forget();
    const askLima = this.asksLima.size > 0 || this.fullLook;
    this.asksLima.clear();
    this.fullLook = false;
    this.fullLookIsRecheck = false;
    let retryIn: number | null = null;
    try {
      const { host, out } = this.ctx;
      // Decide from the events when they say enough; else ask Lima while the state lock is
      // taken and the state read: the one query of the run.
      const fromEvents = askLima ? null : this.instances.fromEvents((await host.leases.read()) ?? []);
      const listing = fromEvents ? Promise.resolve(fromEvents) : this.instances.ask(() => host.lima.list());
      listing.catch(() => undefined); // awaited (and its error reported) inside the run
      const result = await converge(host, out, {
        desired: (h, state) => desiredForRunning(h, state, WATCH_POLICY, { listing, compile: this.compiled.compile }),
        restorePoints: "unless-fighting",
        onDesired: (desired) => this.reportSkipped(desired.skipped, sourcesOf(desired)),
        known: (recorded) => this.model.observedFor(recorded),
        defaultInterface: () => this.model.defaultInterface(host),
        checkFirst: false,
        emit: this.compiled.emit,
      });
      this.model.update(result.observedAfter, result.after);
      if (result.actions.length > 0) this.scheduleRecheck();
      if (result.pointsRestored) {
        this.log("the limawan anchor points were missing from PF's loaded ruleset (another tool loaded its own, or a macOS update rewrote pf.conf); put them back");
      }
      if (result.pointsFight && result.pointsFight.until !== this.fightUntil) {
        this.fightUntil = result.pointsFight.until;
        this.log(
          `another tool keeps replacing PF's main ruleset without the limawan anchor points (${result.pointsFight.restores} times in 10 minutes): ` +
            `not putting them back until ${new Date(result.pointsFight.until).toISOString()}, so the two do not fight; forwards do not work meanwhile (\`limactl limawan up --all\` puts them back now)`,
        );
      } else if (!result.pointsFight) this.fightUntil = null;
      if (result.actions.length > 0) {
        this.log(`${changeLine(result.before, result.after) || result.actions.map(describeAction).join("; ")}; reason: ${reasons.join(", ")}`);
      }
      // PF is live; the router follows (never failing the run: its problems are logged).
      await this.router.afterRun(result.after);
      this.backoff = this.options.minBackoffMs;
      this.notBefore = 0;
      if (result.desired.waiting.length > 0) retryIn = 1_000; // DHCP lags the running event; the leases watch usually wins
    } catch (error) {
      const message = error instanceof CliError ? `${error.message}${error.detail ? `: ${error.detail}` : ""}` : String(error);
      this.log(`run failed (${message}); retrying in ${Math.round(this.backoff / 1000)}s`);
      if (error instanceof CliError && error.diagnostics) this.ctx.out.diagnostics(error.diagnostics.items, error.diagnostics.sources);
      retryIn = this.backoff;
      this.notBefore = Date.now() + this.backoff;
      this.backoff = Math.min(this.backoff * 2, this.options.maxBackoffMs);
      reasons.forEach((r) => this.reasons.add(r));
      this.model.forget(); // what failed may have left PF otherwise than the model says
      this.asksLima.add("retry after a failed run");
    } finally {
      this.running = false;
    }
    if (this.reasons.size > 0) this.trigger("events during the last run", retryIn ?? this.options.debounceMs, false, false);
    else if (retryIn !== null) this.trigger("retry", retryIn);
  }

  /**
   * One full look after a burst of loads, off the path of any event: put off while a run is
   * pending or in progress, and again by every later load, so a burst costs one.
   */
  private scheduleRecheck(): void {
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = null;
      if (this.running || this.timer) this.scheduleRecheck();
      else this.trigger(RECHECK, 0, true);
    }, this.options.recheckMs);
  }

  private reportSkipped(skipped: readonly Skipped[], sources: ReadonlyMap<string, string>): void {
    const byInstance = new Map<string, Skipped[]>();
    for (const s of skipped) byInstance.set(s.instance, [...(byInstance.get(s.instance) ?? []), s]);
    // Forget what no longer holds, so the same reason coming back is said again.
    for (const instance of this.reported.keys()) if (!byInstance.has(instance)) this.reported.delete(instance);
    for (const [instance, entries] of byInstance) {
      const key = JSON.stringify(entries);
      if (this.reported.get(instance) === key) continue; // said once per change, not every run
      this.reported.set(instance, key);
      for (const s of entries) {
        this.log(`${s.instance}: ${s.reason}`);
        if (s.diagnostics.length > 0) this.ctx.out.diagnostics(s.diagnostics, sources);
      }
    }
  }

  private onEvent(event: LimaEvent): void {
    // Port-forward events repeat `running` over and over: only a change of phase matters.
    if (this.lastPhase.get(event.instance) === event.phase) return;
    this.lastPhase.set(event.instance, event.phase);
    if (event.phase === "booting") return;
    this.instances.tell(event.instance, event.phase === "running" ? "Running" : "Stopped", event.phase === "stopping");
    this.trigger(`${event.instance} ${event.phase}`, 0, false, false);
  }

  private streamFollows(name: string): boolean {
    return this.limaStream && this.covered.has(name);
  }

  /** `limactl watch --json` (Lima ≥ 2.1), restarted with back-off if it dies, at once when asked. */
  private async followLimaEvents(): Promise<void> {
    const { lima } = this.ctx.host;
    const version = await lima.version();
    if (!atLeast(version, 2, 1)) {
      this.log(version && !("major" in version) ? "cannot tell Lima's version (limactl watch needs 2.1); following the instance directories instead" : "limactl watch needs Lima 2.1; following the instance directories instead");
      return;
    }
    let delay = this.options.minBackoffMs;
    let current: { stop(): void } | null = null;
    let generation = 0;
    this.closers.push(() => current?.stop());
    const spawn = async () => {
      const mine = ++generation;
      if (this.stopped) return;
      let stream: { exited: Promise<StreamEnd>; stop(): void };
      let covered: Set<string>;
      try {
        covered = new Set(await lima.instanceNames());
        stream = await lima.followEvents((event) => {
          delay = this.options.minBackoffMs;
          this.onEvent(event);
        });
      } catch (error) {
        // limactl gone from PATH, say: the directories and the periodic check still work.
        if (mine !== generation || this.stopped) return;
        this.log(`cannot run limactl watch (${error instanceof Error ? error.message : String(error)}); retrying in ${Math.round(delay / 1000)}s`);
        setTimeout(() => void spawn(), delay);
        delay = Math.min(delay * 2, this.options.maxBackoffMs);
        return;
      }
      if (mine !== generation || this.stopped) {
        stream.stop(); // a restart came meanwhile: the newer stream is the one
        return;
      }
      current = stream;
      this.covered = covered;
      this.limaStream = true;
      void stream.exited.then((why) => {
        if (mine !== generation) return; // stopped for a restart
        this.limaStream = false;
        current = null;
        if (this.stopped) return;
        this.log(`limactl watch exited${why ? ` (${why})` : ""}; restarting in ${Math.round(delay / 1000)}s`);
        setTimeout(() => void spawn(), delay);
        delay = Math.min(delay * 2, this.options.maxBackoffMs);
      });
    };
    this.restartStream = () => {
      const old = current;
      current = null;
      void spawn(); // takes the next generation before the old stream's exit is seen
      old?.stop();
    };
    await spawn();
  }

  private log(message: string): void {
    this.ctx.out.info(`${new Date().toISOString()} ${message}`);
  }
}
