// Lima adapter: everything LimaWAN learns from Lima, parsed here and nowhere else.
// - instances from `limactl list --json` (JSON Lines from a pipe; the key is `network`,
//   singular — LIMA-FACTS.md §2) and the instance directories under $LIMA_HOME (§3);
// - networks.yaml, and the guest's own view through `limactl shell` (lima-guest.ts), from which
//   the engine finds a VM's address (engine/locate-guest.ts, §5);
// - host-agent events from `limactl watch --json` (Lima ≥ 2.1) or ha.stdout.log (§4);
// - Lima's own portForwards, for doctor to compare with LimaWAN's (§7).
// limactl always runs as the VMs' owner: Lima refuses root (§9).
import { existsSync, watch as fsWatch, type FSWatcher } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { isMap, isScalar, isSeq, parse as parseYaml } from "yaml";
import type { Ipv4Address, PortRange } from "../../compiler/ir.js";
import { readYaml } from "../../compiler/read-yaml.js";
import { CliError, EXIT } from "../errors.js";
import { printable } from "../../compiler/printable.js";
import { fatalMessage, instanceErrors, parseLogLines } from "./lima-log.js";
import { readUserFile } from "./files.js";
import { LimaGuest, parseIpAddrsJson } from "./lima-guest.js";
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

/** What a host-agent event means for forwarding: only `running` and `stopping` are acted on. */
export type LimaPhase = "booting" | "running" | "stopping";
export interface LimaEvent { instance: string; phase: LimaPhase }

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
   * The instance directories, for Lima < 2.1 and for what `limactl watch` does not report:
   * an instance created or deleted, its lima.yaml edited, its host agent gone (`stop -f`, a
   * crash). `events` also reads ha.stdout.log's newest event for the instances it is asked for
   * (no event stream, or one that does not follow them). A Lima home that does not exist yet is
   * waited for in its parent directory; `homeAppeared` says when it comes.
   */
  async watchInstances(handlers: InstanceHandlers): Promise<{ close(): void; watching: "home" | "parent" | null }> {
    const watchers = new Map<string, FSWatcher>();
    const watchOne = (name: string) => {
      const dir = path.join(this.limaHome, name);
      try {
        const watcher = fsWatch(dir, (_event, file) => {
          if (file === "lima.yaml") handlers.configChanged(name);
          else if (file === "ha.pid") handlers.hostAgent(name, existsSync(path.join(dir, file)));
          else if (file === "ha.stdout.log" && handlers.wantsEventLog(name)) void this.lastLoggedEvent(name).then((e) => e && handlers.event(e));
        });
        watcher.on("error", () => undefined);
        watchers.set(name, watcher);
      } catch {
        // The directory went away between the scan and the watch.
      }
    };
    const scan = async () => {
      const entries = await readdir(this.limaHome, { withFileTypes: true }).catch(() => []);
      const names = new Set(entries.filter((e) => e.isDirectory() && isInstanceDir(e.name)).map((e) => e.name));
      for (const name of names) if (!watchers.has(name)) watchOne(name);
      for (const [name, watcher] of watchers) {
        if (!names.has(name)) {
          watcher.close();
          watchers.delete(name);
          handlers.deleted(name);
        }
      }
    };
    let home: FSWatcher | null = null;
    let parent: FSWatcher | null = null;
    const watchHome = (): boolean => {
      try {
        home = fsWatch(this.limaHome, () => void scan());
        home.on("error", () => undefined);
        return true;
      } catch {
        return false;
      }
    };
    await scan();
    if (!watchHome() && !existsSync(this.limaHome)) {
      // No Lima home yet (no instance was ever made): its parent says when it is created.
      try {
        parent = fsWatch(path.dirname(this.limaHome), (_event, file) => {
          if (home || (file !== null && file !== path.basename(this.limaHome)) || !watchHome()) return;
          parent?.close();
          parent = null;
          void scan().then(() => handlers.homeAppeared());
        });
        parent.on("error", () => undefined);
      } catch {
        parent = null;
      }
    }
    return {
      watching: home !== null ? "home" : parent !== null ? "parent" : null,
      close: () => {
        (home as FSWatcher | null)?.close();
        (parent as FSWatcher | null)?.close();
        for (const w of watchers.values()) w.close();
      },
    };
  }

  private async lastLoggedEvent(name: string): Promise<LimaEvent | null> {
    const text = await readUserFile(path.join(this.limaHome, name, "ha.stdout.log"), this.owner, { tail: 64 * 1024 }).catch(() => "");
    const last = text.trimEnd().split("\n").pop();
    const phase = last ? parseEventPhase(last) : null;
    return phase ? { instance: name, phase } : null;
  }

  /** A network of $LIMA_HOME/_config/networks.yaml as written there; null when unknown or unreadable. */
  async networkConfig(name: string): Promise<NetworkConfig | null> {
    try {
      const config = parseYaml(await readUserFile(path.join(this.limaHome, "_config", "networks.yaml"), this.owner), { logLevel: "error" }) as { networks?: Record<string, unknown> } | null;
      const network = config?.networks?.[name];
      if (!network || typeof network !== "object") return null;
      const field = (key: string) => {
        const value = (network as Record<string, unknown>)[key];
        return typeof value === "string" ? value : null;
      };
      return { mode: field("mode"), gateway: field("gateway"), netmask: field("netmask"), interface: field("interface") };
    } catch {
      return null;
    }
  }
}

/** A network of networks.yaml (LIMA-FACTS.md §5): `mode` shared|host|bridged|user-v2, and its fields as strings. */
export interface NetworkConfig { mode: string | null; gateway: string | null; netmask: string | null; interface: string | null }

export interface InstanceHandlers {
  configChanged(name: string): void;
  /** ha.pid appeared (a start in progress) or disappeared (stopped, killed, crashed). */
  hostAgent(name: string, present: boolean): void;
  deleted(name: string): void;
  /** Whether the instance's ha.stdout.log should be read (no `limactl watch` stream says its events). */
  wantsEventLog(name: string): boolean;
  event(event: LimaEvent): void;
  /** The Lima home, missing when the watch began, now exists. */
  homeAppeared(): void;
}

/** An instance named on the command line that Lima does not list: the same error from every command. */
export function noSuchInstance(name: string, where = ""): CliError {
  return new CliError(EXIT.FAILURE, `no Lima instance named \`${name}\``, `See \`limactl list\` for the instances you have${where}.`, undefined, null, "no-such-instance");
}

function isInstanceDir(name: string): boolean {
  return !name.startsWith("_") && !name.startsWith(".");
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

/** A host-agent event (`{"status":{…}}` in ha.stdout.log) → what it means for forwarding. */
export function parseEventPhase(line: string): LimaPhase | null {
  let parsed: { status?: EventStatus; event?: { status?: EventStatus } };
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== "object") return null;
  const status = parsed.event?.status ?? parsed.status ?? {};
  return status.exiting ? "stopping" : status.running ? "running" : "booting";
}

interface EventStatus { running?: boolean; exiting?: boolean }

/** A line of `limactl watch --json`: `{"instance":"web","event":{"time":…,"status":{…}}}`. */
export function parseWatchLine(line: string): LimaEvent | null {
  let parsed: { instance?: unknown };
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== "object" || typeof parsed.instance !== "string") return null;
  const phase = parseEventPhase(line);
  return phase ? { instance: parsed.instance, phase } : null;
}

/** Networks PF can route to: vmnet (lima:shared/host/bridged, socket_vmnet) and vzNAT; not user-v2. */
export function routableNetworks(instance: Instance): LimaNetwork[] {
  return instance.network.filter((n) => n.vzNAT === true || Boolean(n.socket) || (Boolean(n.lima) && n.lima !== "user-v2"));
}

/** The guest interface of the VM's first vmnet network (`lima0` unless lima.yaml names it). */
export function guestDevice(instance: Instance): string {
  return routableNetworks(instance)[0]?.interface ?? "lima0";
}

/** One of Lima's own port forwards, as it binds on the Mac. */
export interface LimaPortForward { hostIP: string; hostPort: PortRange; proto: "tcp" | "udp" | "any"; line: number }

/**
 * The TCP/UDP forwards a lima.yaml asks Lima for, with Lima's defaults filled in (LIMA-FACTS.md
 * §7): hostIP 127.0.0.1, host ports those of the guest, every port when none is named, proto
 * `any` (Lima 2.0). Ignored rules and unix sockets bind nothing; malformed entries are Lima's
 * to refuse, so they are left out.
 */
export function limaPortForwards(text: string): LimaPortForward[] {
  const { doc, lineCounter } = readYaml(text);
  const list = doc?.get("portForwards", true);
  if (!list || !isSeq(list)) return [];
  const forwards: LimaPortForward[] = [];
  for (const item of list.items) {
    if (!isMap(item)) continue;
    const field = (key: string) => {
      const node: unknown = item.get(key, true);
      return isScalar(node) ? node.value : isSeq(node) ? node.items.map((n) => (isScalar(n) ? n.value : undefined)) : undefined;
    };
    if (field("ignore") === true || field("guestSocket") !== undefined || field("hostSocket") !== undefined) continue;
    const hostPort = portRange(field("hostPort"), field("hostPortRange")) ?? portRange(field("guestPort"), field("guestPortRange")) ?? { first: 1, last: 65535 };
    const proto = field("proto") ?? "any";
    if (proto !== "tcp" && proto !== "udp" && proto !== "any") continue;
    const hostIP = field("hostIP") ?? "127.0.0.1";
    if (typeof hostIP !== "string") continue;
    forwards.push({ hostIP, hostPort, proto, line: lineCounter.linePos(item.range?.[0] ?? 0).line });
  }
  return forwards;
}

function portRange(port: unknown, range: unknown): PortRange | null {
  const valid = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
  if (valid(port)) return { first: port, last: port };
  if (Array.isArray(range) && range.length === 2 && valid(range[0]) && valid(range[1]) && range[0] <= range[1]) return { first: range[0], last: range[1] };
  return null;
}
