// The facts `doctor` judges (doctor.ts), read through the host's adapters: Lima, pf.conf and the
// loaded ruleset, LimaWAN's record, forwarding, the default route, root's copy and the paths root
// trusts, the daemon, each instance's annotation, the bridges, and the rules of other tools ahead
// of LimaWAN's. Reads only; a fact that cannot be read is kept with its coded reason, never
// replaced by a default (a broken limactl is not "no instances").
import type { InterfaceName } from "../../compiler/ir.js";
import { compileFile, type FileResult } from "../../compiler/pipeline.js";
import type { LoadedRuleset } from "../../compiler/pf/loaded-ruleset-edit.js";
import { bundleDir } from "../bundle.js";
import { rootOwnedPaths, type Environment } from "../environment.js";
import type { Host } from "../host/index.js";
import type { DaemonStatus } from "../host/launchd.js";
import { limaCannotRead, type Instance, type LimaVersion, type UnknownLimaVersion } from "../host/lima.js";
import { IP_FORWARDING } from "../host/sysctl.js";
import { untrustedPaths } from "../host/trust.js";
import { anchorsBefore } from "./doctor-checks.js";
import { attempt, type Reading } from "./reading.js";
import { readStateFile, type StateRead } from "./state.js";
import { readRouterFacts, type RouterFacts } from "./router-apply.js";

export interface InstanceFacts {
  instance: Instance;
  file: string;
  /** The lima.yaml's text (the judge skips a file it cannot read, as Lima's own business). */
  text: Reading<string>;
  compiled: FileResult | null;
  /** Lima's reason when it cannot read the file (status ""), else null. */
  cannotRead: string | null;
}

/** The rules of anchors PF evaluates before LimaWAN's, by anchor name, and the interfaces PF skips. */
export interface OtherRules { anchors: ReadonlyMap<string, { translation: string; filter: string }>; wildcards: ReadonlyMap<string, readonly string[]>; skipped: ReadonlySet<string> }

export interface DoctorFacts {
  platform: string;
  isRoot: boolean;
  version: string;
  /** `limactl --version`; null: limactl cannot be run. */
  lima: LimaVersion | UnknownLimaVersion | null;
  pfConfFile: string;
  /** pf.conf's text, for its anchor points. */
  pfConf: Reading<string>;
  /** The loaded main ruleset and whether PF is enabled: read together, judged together. */
  pf: Reading<{ main: LoadedRuleset; enabled: boolean }>;
  stateFile: string;
  /** The state file as read, and the damaged copies kept beside it. */
  state: Reading<{ read: StateRead; kept: string[] }>;
  forwarding: Reading<string>;
  defaultInterface: string | null;
  rootCopy: { dir: string; launcher: string; installed: string | null; problems: string[]; holdsThisBuild: boolean };
  /** Every path root reads or runs, by name, and those that are not root's alone. */
  rootPaths: Record<string, string>;
  untrusted: string[];
  daemon: Reading<DaemonStatus>;
  instances: Reading<InstanceFacts[]>;
  bridges: Reading<ReadonlyMap<string, readonly string[]>>;
  /** Null when not read: PF unreadable, or no annotated instance whose forwards they could take. */
  otherRules: Reading<OtherRules> | null;
  /** What the gateway said; null unless an annotation marks a forward `router` (opt-in). */
  router: RouterFacts | null;
}

export async function gatherDoctorFacts(host: Host, environment: Pick<Environment, "platform" | "isRoot" | "paths">, version: string): Promise<DoctorFacts> {
  const read = <T>(fn: () => Promise<T>) => attempt(fn, environment.isRoot);
  const [lima, pfConf, pf, state, forwarding, defaultInterface, daemon, instances, bridges] = await Promise.all([
    host.lima.version(),
    read(() => host.pfConf.read()),
    read(async () => ({ main: await host.pfctl.loadedMainRuleset(), enabled: await host.pfctl.enabled() })),
    read(async () => ({ read: await readStateFile(host), kept: await host.state.damagedCopies() })),
    read(() => host.sysctl.get(IP_FORWARDING)),
    host.route.defaultInterface(),
    read(() => host.launchd.status()),
    read(() => instanceFacts(host)),
    read(() => host.ifconfig.bridges() as Promise<ReadonlyMap<string, readonly string[]>>),
  ]);
  const daemonPlist: Record<string, string> = daemon.ok && daemon.value.installed ? { "the daemon's plist": daemon.value.plist } : {};
  const rootPaths = { ...rootOwnedPaths(environment.paths), ...daemonPlist };
  const annotated = instances.ok && instances.value.some((i) => i.compiled?.spec && i.cannotRead === null);
  // The router is asked only when a forward is marked `router` (opt-in), UPnP only when one says `router upnp`.
  const routed = instances.ok ? instances.value.flatMap((i) => i.compiled?.spec?.forwards.filter((f) => f.router) ?? []) : [];
  const routerWan = (routed[0]?.interfaces?.[0] ?? defaultInterface ?? "en0") as InterfaceName;
  return {
    platform: environment.platform,
    isRoot: environment.isRoot,
    version,
    lima,
    pfConfFile: host.pfConf.file,
    pfConf,
    pf,
    stateFile: host.state.file,
    state,
    forwarding,
    defaultInterface,
    rootCopy: {
      dir: host.rootCopy.dir,
      launcher: host.rootCopy.launcher,
      installed: host.rootCopy.installedVersion(),
      problems: host.rootCopy.problems(),
      holdsThisBuild: host.rootCopy.holds(bundleDir()),
    },
    rootPaths,
    untrusted: untrustedPaths(rootPaths),
    daemon,
    instances,
    bridges,
    otherRules: pf.ok && annotated ? await read(() => otherRules(host, pf.value.main)) : null,
    router: routed.length > 0 ? await readRouterFacts(host, routerWan, routed.some((f) => f.router!.upnp)) : null,
  };
}

async function instanceFacts(host: Host): Promise<InstanceFacts[]> {
  const found: InstanceFacts[] = [];
  for (const instance of await host.lima.list()) {
    const file = host.lima.configFile(instance.name);
    const text = await attempt(() => host.lima.readConfig(instance.name), false);
    const compiled = text.ok ? compileFile({ vm: instance.name, file, text: text.value }) : null;
    const cannotRead = text.ok && limaCannotRead(instance) ? await host.lima.cannotReadReason(instance) : null;
    found.push({ instance, file, text, compiled, cannotRead });
  }
  return found;
}

/** The anchors referenced ahead of ours (`com.apple/*`: every anchor under com.apple), each one's rules, and `set skip`. */
async function otherRules(host: Host, main: LoadedRuleset): Promise<OtherRules> {
  const references = new Set([...anchorsBefore(main.translation, "rdr-anchor").before, ...anchorsBefore(main.filter, "anchor").before]);
  const wildcards = new Map<string, readonly string[]>();
  const anchors = new Map<string, { translation: string; filter: string }>();
  for (const reference of references) {
    const names = reference.endsWith("/*") ? await host.pfctl.anchorsUnder(reference.slice(0, -2)) : [reference];
    if (reference.endsWith("/*")) wildcards.set(reference, names);
    for (const name of names) anchors.set(name, await host.pfctl.anchorRules(name));
  }
  return { anchors, wildcards, skipped: await host.pfctl.skippedInterfaces() };
}
