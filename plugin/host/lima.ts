// The limactl adapter, and the files of the Lima home it reads:
// - instances from `limactl list --json` (JSON Lines from a pipe; the key is `network`,
//   singular — LIMA-FACTS.md §2) and the instance directories under $LIMA_HOME (§3);
// - `validate`, `start`, `--version`, and host-agent events from `limactl watch --json` (Lima ≥ 2.1, §4);
// - networks.yaml and Lima's key (their text read here, owner-checked; parsed in lima-yaml.ts),
//   and the guest's own view through `limactl shell` (lima-guest.ts), from which the engine
//   finds a VM's address (engine/locate-guest.ts, §5).
// Watching the instance directories is lima-instance-watch.ts's; what a lima.yaml or
// networks.yaml says, lima-yaml.ts's. limactl always runs as the VMs' owner: Lima refuses root (§9).
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { CliError, EXIT } from "../errors.js";
import { printable } from "../../compiler/printable.js";
import { fatalMessage, instanceErrors, parseLogLines } from "./lima-log.js";
import { readUserFile } from "./files.js";
import { LimaGuest } from "./lima-guest.js";
import { parseWatchLine, type LimaEvent } from "./lima-events.js";
import { isInstanceDir, watchInstanceDirs, type InstanceHandlers, type InstanceWatch } from "./lima-instance-watch.js";
import { networkOf, type NetworkConfig } from "./lima-yaml.js";
import type { Runner, StreamEnd } from "./run.js";

export interface LimaNetwork { lima?: string; vzNAT?: boolean; socket?: string; macAddress?: string; interface?: string }

export interface Instance {
  name: string;
  status: string;
  dir: string;
  network: LimaNetwork[];
  hostAgentPID?: number;
  /**
   * What Lima said is wrong with the instance (`instance \`NAME\` has errors` on list's stderr:
   * `--json` loses the errors themselves, LIMA-FACTS.md §2), bounded, not yet escaped.
   */
  errors?: string;
}

export interface LimaVersion { major: number; minor: number; patch: number; text: string }
/** limactl ran, but said no version LimaWAN can read: a build from source prints `limactl version <unknown>`. */
export interface UnknownLimaVersion { text: string }


/** Lima's default start timeout is 10 minutes. */
const START_TIMEOUT_MS = 11 * 60_000;

export class Lima {
  /** The running guests, through `limactl shell`. */
  readonly guest: LimaGuest;

  constructor(
    private readonly runner: Runner,
    readonly limaHome: string,
    /** As root, the uid whose lima.yaml files root reads: the VMs' owner (null: no check). */
    private readonly owner: number | null = null,
  ) {
    this.guest = new LimaGuest(runner);
  }

  async list(names: readonly string[] = []): Promise<Instance[]> {
    const result = await this.runner.run("limactl", ["list", "--json", ...names], { asUser: true });
    if (result.exitCode !== 0) {
      const unmatched = /unmatched instances/.test(result.stderr);
      if (unmatched) throw noSuchInstance(names.join(", "));
      throw new CliError(EXIT.HOST_COMMAND, "`limactl list --json` failed", undefined, result.stderr);
    }
    return parseInstanceList(result.stdout, result.stderr);
  }

  /** `limactl validate FILE`, as the VMs' owner: null when Lima accepts the file, else what it said. */
  async validate(file: string): Promise<string | null> {
    const result = await this.runner.run("limactl", ["validate", file], { asUser: true });
    if (result.exitCode === 0) return null;
    return fatalMessage(parseLogLines(result.stderr)) ?? `limactl validate exited with ${result.exitCode}`;
  }

  /**
   * Why Lima cannot read an instance's lima.yaml (limaCannotRead): the error its listing logged,
   * else what `limactl validate` says of the file. `validate` merges a `base:` before checking,
   * so for that error only the listing has Lima's words.
   */
  async cannotReadReason(instance: Instance): Promise<string> {
    if (instance.errors) return instance.errors;
    const said = await this.validate(this.configFile(instance.name)).catch(() => null);
    return said ?? "Lima gave no reason (`limactl list` logs it)";
  }

  /** `limactl --version`; null when limactl cannot be run at all (not on PATH, not executable). */
  async version(): Promise<LimaVersion | UnknownLimaVersion | null> {
    const result = await this.runner.run("limactl", ["--version"], { asUser: true }).catch(() => null);
    if (!result) return null;
    const said = (result.exitCode === 0 ? result.stdout : result.stderr).trim().split("\n")[0] ?? "";
    return (result.exitCode === 0 ? parseVersion(result.stdout) : null) ?? { text: said.slice(0, 200) };
  }

  /** `limactl start NAME`, as the VMs' owner; throws with Lima's last lines when it fails. */
  async start(name: string): Promise<void> {
    const result = await this.runner.change("limactl", ["start", name], { asUser: true, timeoutMs: START_TIMEOUT_MS });
    if (result.exitCode !== 0) {
      throw new CliError(EXIT.FAILURE, `limactl start ${name} failed`, "See the output above and `limactl list`.", result.stderr.trim().split("\n").slice(-10).join("\n"));
    }
  }

  /** Instance directories as Lima sees them: not starting with `_` or `.`, holding a lima.yaml. */
  async instanceNames(): Promise<string[]> {
    const entries = await readdir(this.limaHome, { withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isDirectory() && isInstanceDir(e.name) && existsSync(this.configFile(e.name)))
      .map((e) => e.name)
      .sort();
  }

  configFile(name: string): string {
    return path.join(this.limaHome, name, "lima.yaml");
  }

  /** The instance's lima.yaml; as root, only when it is the VMs' owner's (readUserFile). */
  async readConfig(name: string): Promise<string> {
    return readUserFile(this.configFile(name), this.owner);
  }

  /**
   * `limactl watch --json`: one LimaEvent per host-agent event, until it exits; `exited` says
   * why when LimaWAN stopped it (a line past the output limit).
   */
  async followEvents(onEvent: (event: LimaEvent) => void): Promise<{ exited: Promise<StreamEnd>; stop(): void }> {
    return this.runner.stream("limactl", ["watch", "--json"], {
      asUser: true,
      onLine: (line) => {
        const event = parseWatchLine(line);
        if (event) onEvent(event);
      },
    });
  }

  /**
   * The instance directories, for Lima < 2.1 and for what `limactl watch` does not report
   * (host/lima-instance-watch.ts).
   */
  watchInstances(handlers: InstanceHandlers): Promise<InstanceWatch> {
    return watchInstanceDirs(this.limaHome, this.owner, handlers);
  }

  /**
   * Lima's own public key ($LIMA_HOME/_config/user.pub, which `limactl shell` logs in with); null
   * when it is missing or refused: as root, only the VMs' owner's file is read (readUserFile).
   */
  async userPublicKey(): Promise<string | null> {
    return readUserFile(path.join(this.limaHome, "_config", "user.pub"), this.owner).catch(() => null);
  }

  /** A network of $LIMA_HOME/_config/networks.yaml as written there; null when unknown or unreadable. */
  async networkConfig(name: string): Promise<NetworkConfig | null> {
    const text = await readUserFile(path.join(this.limaHome, "_config", "networks.yaml"), this.owner).catch(() => null);
    return text === null ? null : networkOf(text, name);
  }
}

/** An instance named on the command line that Lima does not list: the same error from every command. */
export function noSuchInstance(name: string, where = ""): CliError {
  return new CliError(EXIT.FAILURE, `no Lima instance named \`${name}\``, `See \`limactl list\` for the instances you have${where}.`, undefined, null, "no-such-instance");
}

/** `limactl list --json`'s stdout (JSON Lines) and stderr (logrus lines: each instance's errors). */
export function parseInstanceList(stdout: string, stderr = ""): Instance[] {
  const errors = instanceErrors(parseLogLines(stderr));
  const instances: Instance[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CliError(EXIT.HOST_COMMAND, "`limactl list --json` printed something that is not JSON Lines", "Is limactl 2.0 or newer?", line.slice(0, 200));
    }
    const v = value as Partial<Instance>;
    if (typeof v.name !== "string" || typeof v.status !== "string") continue;
    instances.push({
      name: v.name,
      status: v.status,
      dir: typeof v.dir === "string" ? v.dir : "",
      network: Array.isArray(v.network) ? v.network : [],
      ...(typeof v.hostAgentPID === "number" ? { hostAgentPID: v.hostAgentPID } : {}),
      ...(errors.has(v.name) ? { errors: errors.get(v.name)! } : {}),
    });
  }
  return instances;
}

/**
 * Lima lists an instance whose lima.yaml it cannot load (invalid YAML, a field it refuses such
 * as `base:`) with an empty status and no config or network (LIMA-FACTS.md §2): it knows nothing
 * else about it, not even whether it has a vmnet network.
 */
export function limaCannotRead(instance: Instance): boolean {
  return instance.status === "";
}

/** A command that needs the instance, refused: Lima itself cannot read its lima.yaml. */
export function limaCannotReadError(instance: Instance, file: string, reason = instance.errors): CliError {
  return new CliError(
    EXIT.FAILURE,
    `Lima cannot read the lima.yaml of \`${instance.name}\`${reason ? `: ${printable(reason)}` : ""}`,
    limaCannotReadHint(file),
    undefined,
    null,
    "lima-cannot-read",
  );
}

export function limaCannotReadHint(file: string): string {
  return `Fix ${file}: \`limactl validate ${file}\` checks it, \`limactl list\` repeats Lima's error.`;
}

/** `limactl version 2.2.0` (or `v2.2.0-153-g183a60d7` from a git build) — LIMA-FACTS.md §8. */
export function parseVersion(stdout: string): LimaVersion | null {
  const m = /^limactl version v?(\d+)\.(\d+)\.(\d+)/m.exec(stdout);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: stdout.trim() } : null;
}

export function atLeast(version: LimaVersion | UnknownLimaVersion | null, major: number, minor: number): boolean {
  return version !== null && "major" in version && (version.major > major || (version.major === major && version.minor >= minor));
}

/** Networks PF can route to: vmnet (lima:shared/host/bridged, socket_vmnet) and vzNAT; not user-v2. */
export function routableNetworks(instance: Instance): LimaNetwork[] {
  return instance.network.filter((n) => n.vzNAT === true || Boolean(n.socket) || (Boolean(n.lima) && n.lima !== "user-v2"));
}

/** The guest interface of the VM's first vmnet network (`lima0` unless lima.yaml names it). */
export function guestDevice(instance: Instance): string {
  return routableNetworks(instance)[0]?.interface ?? "lima0";
}
