// LimaWAN's record of what it changed on the host: one JSON file in the state dir, written
// atomically (write-file-atomic) under a cross-process lock (proper-lockfile), so two
// commands at once lose nothing and a crash never leaves half a file.
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import lockfile from "proper-lockfile";
import writeFileAtomic from "write-file-atomic";
import type { VmSpec } from "../compiler/ir.js";
import { CliError, EXIT } from "./errors.js";
import type { Runner } from "./host/run.js";

export const STATE_VERSION = 1;

export interface AppliedVm {
  instance: string;
  file: string;
  address: string;
  spec: VmSpec;
}

export interface State {
  version: typeof STATE_VERSION;
  /** VMs whose rules are in the loaded anchor, by instance name. */
  vms: Record<string, AppliedVm>;
  /** sha256 of the anchor text last loaded, to skip identical reloads. */
  anchorHash: string | null;
  /** Default WAN interfaces the anchor was rendered with. */
  interfaces: string[];
  /** Our `pfctl -E` reference, released with -X when the last forward goes. */
  pfToken: string | null;
  /** net.inet.ip.forwarding as found before LimaWAN first set it. */
  forwarding: { prior: string; changedByLimawan: boolean } | null;
  /** pf.conf anchor points LimaWAN inserted, and the untouched copy kept beside the state. */
  pfConf: { addedBy: "install" | "up"; backup: string } | null;
  /** Instances `down` took out: the watcher leaves them alone until `up` names them again. */
  heldDown: string[];
}

export function emptyState(): State {
  return { version: STATE_VERSION, vms: {}, anchorHash: null, interfaces: [], pfToken: null, forwarding: null, pfConf: null, heldDown: [] };
}

export class StateStore {
  readonly file: string;
  private readonly lockPath: string;

  constructor(readonly dir: string, private readonly runner: Runner) {
    this.file = path.join(dir, "state.json");
    this.lockPath = path.join(dir, "state.lock");
  }

  async read(): Promise<State> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyState();
      throw new CliError(EXIT.ENVIRONMENT, `cannot read ${this.file}: ${(error as Error).message}`, "Run with sudo.");
    }
    try {
      const parsed = JSON.parse(text) as State;
      if (parsed.version !== STATE_VERSION) throw new Error(`version ${String(parsed.version)}`);
      return { ...emptyState(), ...parsed };
    } catch (error) {
      throw new CliError(
        EXIT.ENVIRONMENT,
        `${this.file} is damaged (${(error as Error).message})`,
        "Move it aside and run `limactl limawan up --all`; LimaWAN rebuilds it from what pfctl reports.",
      );
    }
  }

  async write(state: State): Promise<void> {
    const text = `${JSON.stringify(state, null, 2)}\n`;
    if (this.runner.dryRun) {
      const vms = Object.values(state.vms).map((vm) => `${vm.instance} ${vm.address} (${vm.spec.forwards.length} forwards)`);
      this.runner.noteWrite(this.file, text, `LimaWAN's record: ${vms.join(", ") || "no VMs forwarded"}`);
      return;
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.file, text, { mode: 0o600 });
  }

  /** Run `fn` holding the state lock. In dry-run no lock is taken (nothing is written). */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    if (this.runner.dryRun) return fn();
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(this.dir, {
        lockfilePath: this.lockPath,
        realpath: false,
        // A holder refreshes the lock every second; one not refreshed for 5 s belongs to a process
        // that died holding it (a watcher killed mid-reconcile), and is taken over. Longer only
        // made recovery after such a crash wait (it was 60 s).
        stale: 5_000,
        update: 1_000,
        retries: { retries: 600, factor: 1, minTimeout: 100, maxTimeout: 100 },
      });
    } catch (error) {
      throw new CliError(EXIT.ENVIRONMENT, `another limawan command holds ${this.lockPath}`, "Wait for it to finish, then retry.", (error as Error).message);
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  }
}
