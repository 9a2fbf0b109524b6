// `diagnose`: what stands between a WAN client and a VM's service, forward by forward, as data.
// Pure: the facts are gathered first (diagnose-facts.ts) and every step is judged from them, in
// the order a packet meets them, none stopping at an earlier failure. A step that cannot be
// judged says why: `skip` when an earlier step already failed what it needs (the VM is not
// running), `unknown` when a fact could not be read (PF without root). Only `fail` fails the
// command: an unknown is not a finding, and the output says how to make it known (--sudo).
import ipaddr from "ipaddr.js";
import { emitAnchor, type HostFacts } from "../../compiler/emit-pf.js";
import { formatRange, protocolsOf, type Forward, type InterfaceName, type Ipv4Address, type VmSpec } from "../../compiler/ir.js";
import { forwardPfNames } from "../../compiler/pf-names.js";
import { FILTER_POINT, RDR_POINT } from "../../compiler/pf/anchor-points.js";
import { printable } from "../../compiler/printable.js";
import type { InterfaceState } from "../host/ifconfig.js";
import { limaCannotReadHint } from "../host/lima.js";
import type { GuestRoute, GuestSocket } from "../host/lima-guest.js";
import type { PortProbe } from "../host/listeners.js";
import { hashAnchor } from "./anchor-hash.js";
import { loadedRules } from "./loaded-rules.js";
import { parseRecordedInterfaces, type State } from "./state.js";
import { missingPointsReason } from "./status-report.js";
import type { RouterFacts } from "./router-apply.js";
import { diagnoseRouterStep, externalThroughRouter, forwardRouterStatus, type RouterFinding } from "./router-report.js";
import type { RouterState } from "./router-state.js";

/** A router finding (router-report.ts) as a diagnose step. */
function fromFinding(id: StepId, finding: RouterFinding): Step {
  return step(id, finding.level === "ok" ? "pass" : finding.level, finding.detail, finding.hint);
}

export type Verdict = "pass" | "warn" | "fail" | "unknown" | "skip";

export type StepId =
  | "annotation"
  | "vm-running"
  | "address"
  | "guest-interface"
  | "guest-route"
  | "guest-listening"
  | "pf-enabled"
  | "anchor-points"
  | "anchor-rules"
  | "ip-forwarding"
  | "host-port"
  | "wan-interface"
  | "router"
  | "external";

export interface Step { id: StepId; title: string; verdict: Verdict; detail: string; fix?: string }

export interface ForwardDiagnosis {
  /** The forward's name; null when the annotation gives none to check (the VM's steps only). */
  name: string | null;
  /** `tcp en0:2222 → 192.168.105.2:22`, as far as it is known. */
  route: string | null;
  steps: Step[];
}

export interface Diagnosis {
  instance: string;
  /** No step failed. */
  ok: boolean;
  /** Every step could be judged (none unknown). */
  complete: boolean;
  forwards: ForwardDiagnosis[];
  notes: string[];
}

/** A fact read from the host, or why it could not be (needsRoot: root would have read it). */
export type Reading<T> = { ok: true; value: T } | { ok: false; reason: string; needsRoot: boolean };

export type AddressFact =
  | { kind: "found"; address: Ipv4Address; source: "lease" | "guest" }
  | { kind: "none" }
  /** An address PF must never redirect to (vmAddressProblem). */
  | { kind: "refused"; reason: string }
  | { kind: "error"; reason: string };

export interface DiagnoseFacts {
  instance: string;
  /** limactl list's status: Running, Stopped, Broken; "" when Lima cannot read lima.yaml. */
  status: string;
  /** Lima's error when it cannot read lima.yaml (status ""), else null. */
  limaError?: string | null;
  /** Why PF cannot reach the VM at all (no vmnet network), or null. */
  unreachable: { message: string; hint: string } | null;
  /** The guest interface of its vmnet network (lima0) and that network's name (shared). */
  device: string;
  network: string | null;
  file: string;
  leasesFile: string;
  /** `unreadable`: lima.yaml could not be read at all, and why. */
  annotation: { annotated: boolean; spec: VmSpec | null; errors: number; warnings: number; unreadable?: string };
  /** Null when the VM is not running (not looked up). */
  address: AddressFact | null;
  /** Null when the VM is not running. */
  guest: { addresses: Reading<Ipv4Address[]>; routes: Reading<GuestRoute[]>; sockets: Reading<GuestSocket[]> } | null;
  pf: {
    enabled: Reading<boolean>;
    anchorPoints: Reading<{ rdr: boolean; filter: boolean }>;
    labels: Reading<ReadonlySet<string>>;
    forwarding: Reading<string>;
  };
  state: Reading<State>;
  /** pf.conf holds both anchor points (null: unreadable). */
  pfConfPoints: boolean | null;
  /** When the facts were read (ms since the epoch): whether the watcher's pause is over. */
  now: number;
  /** Probes of the host ports, by `tcp/2222` (portsToProbe says which). */
  hostPorts: ReadonlyMap<string, PortProbe>;
  defaultInterface: InterfaceName | null;
  /** Each WAN interface any forward uses (wanInterfacesToCheck), null when it does not exist. */
  interfaces: ReadonlyMap<string, Reading<InterfaceState | null>>;
  /** Null unless --external: the Mac's address as the internet sees it. */
  publicAddress: Reading<Ipv4Address> | null;
  /** Only when a forward is marked `router`: what the gateway said, and LimaWAN's record of its mappings. */
  router?: { facts: RouterFacts; recorded: RouterState | null } | null;
}

/** Ports probed per forward at most: a range of 1,000 is not worth 1,000 binds. */
export const MAX_PORTS_PER_FORWARD = 16;

/** The host ports worth probing for a forward (the first of a range). */
export function portsToProbe(forward: Forward): Array<{ protocol: "tcp" | "udp"; port: number }> {
  const ports: Array<{ protocol: "tcp" | "udp"; port: number }> = [];
  for (const protocol of protocolsOf(forward.protocol)) {
    for (let port = forward.host.first; port <= Math.min(forward.host.last, forward.host.first + MAX_PORTS_PER_FORWARD - 1); port++) ports.push({ protocol, port });
  }
  return ports;
}

/**
 * The WAN interfaces a forward's rules use: its own (`on`, `interface`), else those its rules
 * were loaded with (the state's), else what `up` would take now (the default route's).
 */
export function forwardInterfaces(forward: Forward, applied: boolean, state: State | null, defaultInterface: InterfaceName | null): InterfaceName[] {
  if (forward.interfaces) return forward.interfaces;
  const recorded = applied && state ? parseRecordedInterfaces(state.interfaces) : undefined;
  return recorded ?? (defaultInterface ? [defaultInterface] : []);
}

/** Every interface a forward of this spec would be checked on. */
export function wanInterfacesToCheck(spec: VmSpec | null, state: State | null, defaultInterface: InterfaceName | null): string[] {
  const names = new Set<string>();
  const applied = Boolean(state && spec && state.vms[spec.vm]);
  for (const forward of spec?.forwards ?? []) for (const name of forwardInterfaces(forward, applied, state, defaultInterface)) names.add(name);
  return [...names].sort();
}

export function diagnose(facts: DiagnoseFacts): Diagnosis {
  const spec = facts.annotation.spec;
  const vm = vmSteps(facts);
  const forwards: ForwardDiagnosis[] =
    spec && spec.forwards.length > 0
      ? spec.forwards.map((forward) => forwardDiagnosis(facts, spec, forward, vm))
      : [{ name: null, route: null, steps: [vm.annotation, vm.running, vm.address, vm.guestInterface, vm.guestRoute, skipped("guest-listening"), vm.pfEnabled, vm.anchorPoints, skipped("anchor-rules"), vm.forwarding, skipped("host-port"), skipped("wan-interface"), ...(facts.publicAddress ? [skipped("external")] : [])] }];
  const steps = forwards.flatMap((f) => f.steps);
  return {
    instance: facts.instance,
    ok: !steps.some((s) => s.verdict === "fail"),
    complete: !steps.some((s) => s.verdict === "unknown"),
    forwards,
    notes: notes(facts, steps),
  };
}

// ------------------------------------------------------------------------------------------
// The VM's steps: the same for each of its forwards.

const TITLES: Record<StepId, string> = {
  annotation: "annotation",
  "vm-running": "VM running",
  address: "VM address",
  "guest-interface": "guest interface",
  "guest-route": "guest default route",
  "guest-listening": "guest service",
  "pf-enabled": "PF enabled",
  "anchor-points": "anchor points",
  "anchor-rules": "anchor rules",
  "ip-forwarding": "IP forwarding",
  "host-port": "host port",
  "wan-interface": "WAN interface",
  router: "router",
  external: "from the internet",
};

function step(id: StepId, verdict: Verdict, detail: string, fix?: string): Step {
  return { id, title: TITLES[id], verdict, detail, ...(fix ? { fix } : {}) };
}

function skipped(id: StepId, why = "no forward to check"): Step {
  return step(id, "skip", why);
}

/** A fact that could not be read: unknown, saying why (or that root would read it). */
function unread(id: StepId, reading: { reason: string; needsRoot: boolean }): Step {
  return step(id, "unknown", reading.needsRoot ? "needs root: add --sudo" : reading.reason);
}

interface VmSteps {
  annotation: Step;
  running: Step;
  address: Step;
  guestInterface: Step;
  guestRoute: Step;
  pfEnabled: Step;
  anchorPoints: Step;
  forwarding: Step;
  /** The VM's address now, when known. */
  vmAddress: Ipv4Address | null;
}

function vmSteps(facts: DiagnoseFacts): VmSteps {
  const name = facts.instance;
  const running = facts.status === "Running";
  const vmAddress = facts.address?.kind === "found" ? facts.address.address : null;
  const unreadable = facts.status === "";
  const notRunning = unreadable ? "Lima cannot read its lima.yaml" : `the VM is ${facts.status.toLowerCase()}`;
  return {
    annotation: annotationStep(facts),
    running: running
      ? step("vm-running", "pass", "Running")
      : unreadable
        ? step("vm-running", "fail", `Lima cannot read ${facts.file}${facts.limaError ? `: ${printable(facts.limaError)}` : ""}`, limaCannotReadHint(facts.file))
        : step("vm-running", "fail", `${facts.status}: nothing answers for its forwards`, `limactl start ${name}`),
    address: !running ? skipped("address", notRunning) : addressStep(facts),
    guestInterface: !running || facts.unreachable ? skipped("guest-interface", !running ? notRunning : "no vmnet network") : guestInterfaceStep(facts, vmAddress),
    guestRoute: !running || facts.unreachable ? skipped("guest-route", !running ? notRunning : "no vmnet network") : guestRouteStep(facts),
    pfEnabled: !facts.pf.enabled.ok
      ? unread("pf-enabled", facts.pf.enabled)
      : facts.pf.enabled.value
        ? step("pf-enabled", "pass", "enabled")
        : step("pf-enabled", "fail", "PF is disabled: no rule of LimaWAN's applies", `\`limactl limawan up ${name}\` enables it with a reference of its own (never \`pfctl -d\` it while forwards are wanted).`),
    anchorPoints: anchorPointsStep(facts),
    forwarding: !facts.pf.forwarding.ok
      ? unread("ip-forwarding", facts.pf.forwarding)
      : facts.pf.forwarding.value === "1"
        ? step("ip-forwarding", "pass", "net.inet.ip.forwarding=1")
        : step("ip-forwarding", "fail", `net.inet.ip.forwarding=${facts.pf.forwarding.value}: the Mac does not pass redirected packets on to the VM`, `\`limactl limawan up ${name}\` turns it on.`),
    vmAddress,
  };
}

function annotationStep(facts: DiagnoseFacts): Step {
  const { annotation, file, instance } = facts;
  if (annotation.unreadable) return step("annotation", "fail", `${file}: ${annotation.unreadable}`, `Check the file: limactl list ${instance}`);
  if (!annotation.annotated && annotation.errors > 0) return step("annotation", "fail", `${file} cannot be read: ${annotation.errors} error(s)`, `\`limactl limawan check ${instance}\` shows them.`);
  if (!annotation.annotated) return step("annotation", "fail", `no x-limawan annotation in ${file}: nothing is forwarded`, `limactl limawan expose ${instance} 'http 80 as 8080'`);
  if (!annotation.spec) return step("annotation", "fail", `${annotation.errors} error(s) in ${file}`, `\`limactl limawan check ${instance}\` shows each with its line.`);
  const warnings = annotation.warnings > 0 ? `, ${annotation.warnings} warning(s) (limactl limawan check ${instance})` : "";
  if (annotation.spec.forwards.length === 0) return step("annotation", "warn", `valid, but it exposes nothing${warnings}`, `limactl limawan expose ${instance} 'http 80 as 8080'`);
  return step("annotation", annotation.warnings > 0 ? "warn" : "pass", `valid (${file})${warnings}`);
}

function addressStep(facts: DiagnoseFacts): Step {
  const name = facts.instance;
  if (facts.unreachable) return step("address", "fail", facts.unreachable.message, facts.unreachable.hint);
  const address = facts.address;
  switch (address?.kind) {
    case "found":
      return address.source === "lease"
        ? step("address", "pass", `${address.address}, from bootpd's DHCP lease (${facts.leasesFile})`)
        : step("address", "pass", `${address.address}, from the guest's ${facts.device} (no DHCP lease on the Mac names it)`);
    case "refused":
      return step("address", "fail", address.reason, `Check the VM's network: limactl shell ${name} ip addr`);
    case "error":
      return step("address", "unknown", address.reason);
    default:
      return step("address", "fail", `no address yet: no DHCP lease in ${facts.leasesFile}, and ${facts.device} in the guest has none`, `Wait for DHCP (\`limactl limawan ip ${name} --wait 60\`); if none comes, see the guest interface step.`);
  }
}

function guestInterfaceStep(facts: DiagnoseFacts, vmAddress: Ipv4Address | null): Step {
  const { guest, device, instance } = facts;
  if (!guest) return skipped("guest-interface", "the VM is not running");
  if (!guest.addresses.ok) return unread("guest-interface", guest.addresses);
  const addresses = guest.addresses.value;
  if (addresses.length === 0) {
    return step(
      "guest-interface",
      "fail",
      `${device} has no IPv4 address (Lima issue 3100: the guest's DHCP on ${device} did not complete)${vmAddress ? `, though the Mac leased it ${vmAddress}` : ""}`,
      `Restart the VM (\`limactl stop ${instance} && limactl start ${instance}\`); if it persists, look at the guest's DHCP: \`limactl shell ${instance} sudo networkctl status ${device}\`.`,
    );
  }
  if (vmAddress && !addresses.includes(vmAddress)) {
    return step(
      "guest-interface",
      "fail",
      `${device} has ${addresses.join(", ")}, not ${vmAddress}: PF would forward to an address the guest does not hold (a stale lease?)`,
      `Restart the VM so it and the lease agree, then \`limactl limawan up ${instance}\`.`,
    );
  }
  return step("guest-interface", "pass", `${device} has ${addresses.join(", ")}`);
}

function guestRouteStep(facts: DiagnoseFacts): Step {
  const { guest, device, instance } = facts;
  if (!guest) return skipped("guest-route", "the VM is not running");
  if (!guest.routes.ok) return unread("guest-route", guest.routes);
  const [used] = guest.routes.value;
  const gateway = guest.routes.value.find((r) => r.dev === device)?.gateway ?? null;
  const manual = `inside the guest, until it restarts: \`limactl shell ${instance} sudo ip route replace default via ${gateway ?? "GATEWAY"} dev ${device} metric 50\`${gateway ? "" : ` (GATEWAY: the Mac's address on the VM's network, 192.168.105.1 on \`shared\`)`}`;
  if (!used) {
    return step("guest-route", "fail", "the guest has no default route: replies to WAN clients cannot leave it", `Give ${device} its DHCP route back (restart the VM); ${manual}.`);
  }
  if (used.dev === device) return step("guest-route", "pass", `via ${used.gateway ?? "?"} on ${device} (the Mac): replies to WAN clients return through PF`);
  const why = gateway === null ? ` (${device} has no default route${guest.addresses.ok && guest.addresses.value.length === 0 ? ": it has no address" : ""})` : ` (metric ${used.metric} beats ${device}'s)`;
  return step(
    "guest-route",
    "fail",
    `the default route goes out ${used.dev}${why}, not ${device}: replies to WAN clients leave through Lima's user-mode NAT instead of the Mac, and the clients' connections silently fail`,
    `Give ${device} a lower metric than ${used.dev}'s ${used.metric}: in lima.yaml \`networks: [{lima: ${facts.network ?? "shared"}, metric: 100}]\` (Lima's default), then restart the VM; or ${manual}.`,
  );
}

/** status's and doctor's lower-case reason as a fix of its own. */
const sentence = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;

function anchorPointsStep(facts: DiagnoseFacts): Step {
  const points = facts.pf.anchorPoints;
  if (!points.ok) return unread("anchor-points", points);
  const missing = [points.value.rdr ? "" : RDR_POINT, points.value.filter ? "" : FILTER_POINT].filter(Boolean);
  if (missing.length === 0) return step("anchor-points", "pass", `${RDR_POINT} and ${FILTER_POINT} are in the loaded main ruleset`);
  return step(
    "anchor-points",
    "fail",
    `${missing.join(" and ")} missing from the loaded main ruleset: PF never evaluates the limawan anchor`,
    sentence(missingPointsReason(facts.state.ok ? facts.state.value : null, facts.pfConfPoints, facts.now)),
  );
}

// ------------------------------------------------------------------------------------------
// Each forward's own steps.

function forwardDiagnosis(facts: DiagnoseFacts, spec: VmSpec, forward: Forward, vm: VmSteps): ForwardDiagnosis {
  const state = facts.state.ok ? facts.state.value : null;
  const applied = state?.vms[facts.instance] ?? null;
  const interfaces = forwardInterfaces(forward, applied !== null, state, facts.defaultInterface);
  const target = vm.vmAddress ?? applied?.address ?? null;
  const route = `${forward.protocol} ${interfaces.join(",") || "?"}:${formatRange(forward.host)} → ${target ?? facts.instance}:${formatRange(forward.guest)}`;
  const steps = [
    vm.annotation,
    vm.running,
    vm.address,
    vm.guestInterface,
    vm.guestRoute,
    guestListeningStep(facts, forward, vm.vmAddress),
    vm.pfEnabled,
    vm.anchorPoints,
    anchorRulesStep(facts, spec, forward, vm.vmAddress),
    vm.forwarding,
    hostPortStep(facts, forward),
    wanInterfaceStep(facts, forward, interfaces, applied !== null),
  ];
  if (forward.router && facts.router) steps.push(fromFinding("router", diagnoseRouterStep(facts.router.facts, facts.router.recorded, facts.instance, forward.name, facts.now)));
  if (facts.publicAddress) steps.push(externalStep(facts, forward, interfaces));
  return { name: forward.name, route, steps };
}

/** Does a socket bound to `address` take IPv4 connections to the VM's own address? */
function reachable(address: string, vmAddress: Ipv4Address | null): "yes" | "loopback" | "ipv6-only" | "other" {
  const bare = address.replace(/%.*$/, "");
  if (bare === "0.0.0.0" || bare === "*" || (vmAddress && bare === vmAddress)) return "yes";
  if (/^127\./.test(bare) || bare === "[::1]") return "loopback";
  if (bare.startsWith("[")) return "ipv6-only";
  return vmAddress ? "other" : "yes";
}

function guestListeningStep(facts: DiagnoseFacts, forward: Forward, vmAddress: Ipv4Address | null): Step {
  const { guest, instance } = facts;
  if (!guest) return skipped("guest-listening", `the VM is ${facts.status.toLowerCase() || "not running"}`);
  if (!guest.sockets.ok) return unread("guest-listening", guest.sockets);
  const found: string[] = [];
  const problems: string[] = [];
  let missing = 0;
  const last = Math.min(forward.guest.last, forward.guest.first + MAX_PORTS_PER_FORWARD - 1);
  for (const protocol of protocolsOf(forward.protocol)) {
    for (let port = forward.guest.first; port <= last; port++) {
      const sockets = guest.sockets.value.filter((s) => s.protocol === protocol && s.port === port);
      const good = sockets.find((s) => reachable(s.address, vmAddress) === "yes");
      if (good) {
        found.push(`${protocol} ${good.address}:${port}`);
        continue;
      }
      if (sockets.length === 0) {
        missing++;
        problems.push(`nothing ${protocol === "tcp" ? "listens on" : "is bound to"} ${protocol} port ${port}`);
        continue;
      }
      const kinds = sockets.map((s) => reachable(s.address, vmAddress));
      const where = sockets.map((s) => `${s.address}:${port}`).join(", ");
      problems.push(
        kinds.includes("loopback")
          ? `${protocol} port ${port} listens on ${where} only: WAN clients arrive at ${vmAddress ?? "the VM's address"}`
          : kinds.includes("ipv6-only")
            ? `${protocol} port ${port} listens on IPv6 only (${where}); PF forwards IPv4`
            : `${protocol} port ${port} listens on ${where}, not on ${vmAddress ?? "the VM's address"}`,
      );
    }
  }
  const range = forward.guest.last > forward.guest.first ? ` (of ports ${formatRange(forward.guest)}, the first ${last - forward.guest.first + 1} checked)` : "";
  if (problems.length === 0) return step("guest-listening", "pass", `${found.join(", ")}${range}`);
  const fix =
    missing > 0 && found.length === 0
      ? `Start the service in the guest (\`limactl shell ${instance} sudo ss -ltunp\` shows what listens), or correct the guest port in the annotation.`
      : `Make the service listen on 0.0.0.0 (or ${vmAddress ?? "the VM's address"}) in the guest.`;
  // Part of a range answering is a finding, not a broken forward.
  return step("guest-listening", found.length > 0 ? "warn" : "fail", `${problems.slice(0, 3).join("; ")}${problems.length > 3 ? `; ${problems.length - 3} more` : ""}${range}`, fix);
}

function anchorRulesStep(facts: DiagnoseFacts, spec: VmSpec, forward: Forward, vmAddress: Ipv4Address | null): Step {
  const name = facts.instance;
  const { label } = forwardPfNames(spec, forward);
  const labels = facts.pf.labels;
  if (!labels.ok) return unread("anchor-rules", labels);
  const up = `limactl limawan up ${name}`;
  if (!labels.value.has(label)) {
    const heldDown = facts.state.ok && facts.state.value.heldDown.includes(name);
    return step(
      "anchor-rules",
      "fail",
      `not loaded: no rule labelled ${label} in the limawan anchor${heldDown ? " (held down by `limactl limawan down`)" : ""}`,
      heldDown ? `\`${up}\` forwards it again.` : `\`${up}\` loads them; the watch daemon (\`limactl limawan install\`) does it at each start.`,
    );
  }
  if (!facts.state.ok) {
    return step("anchor-rules", "unknown", `loaded (${label}); ${facts.state.needsRoot ? "comparing them with LimaWAN's record needs root: add --sudo" : `LimaWAN's record cannot be read: ${facts.state.reason}`}`);
  }
  const state = facts.state.value;
  const applied = state.vms[name];
  const recorded = applied?.spec.forwards.find((f) => f.name === forward.name);
  if (!applied || !recorded) {
    return step("anchor-rules", "fail", `rules labelled ${label} are loaded, but LimaWAN's record has no such forward: it cannot tell what they do`, `\`${up}\` loads the anchor again from the annotation.`);
  }
  const recordedInterfaces = parseRecordedInterfaces(state.interfaces);
  const loaded = forwardRules(applied.spec, recorded, applied.address, recordedInterfaces ?? facts.defaultInterface);
  // What `up` would load now: this annotation, this address, the default route's interface.
  const wanted = forwardRules(spec, forward, vmAddress ?? applied.address, facts.defaultInterface ?? recordedInterfaces);
  const integrity = anchorRecordIntact(state) ? "" : " (LimaWAN's record does not hash to the anchor it says it loaded)";
  if (loaded === null || wanted === null) return step("anchor-rules", "unknown", `loaded (${label}); the rules cannot be rendered to compare them`);
  if (loaded.hash !== wanted.hash) {
    return step(
      "anchor-rules",
      "fail",
      `loaded rules are stale: ${describeChange(loaded, wanted)} (rules sha256 ${loaded.hash.slice(0, 12)}, the annotation's now ${wanted.hash.slice(0, 12)})${integrity}`,
      `\`${up}\` loads the current rules${recordedInterfaces && facts.defaultInterface && !recordedInterfaces.includes(facts.defaultInterface) ? ` (add \`--interface ${recordedInterfaces.join(",")}\` if you chose that interface)` : ""}.`,
    );
  }
  return step("anchor-rules", integrity ? "warn" : "pass", `loaded, as the annotation says (${label}, rules sha256 ${wanted.hash.slice(0, 12)})${integrity}`, integrity ? `\`${up}\` loads the anchor again.` : undefined);
}

/** A forward's rules as the compiler writes them for one address and set of interfaces: its IR, and its lines' sha256. */
interface ForwardRules { forward: Forward; address: Ipv4Address; interfaces: readonly InterfaceName[]; hash: string }

/** The forward's own lines of the anchor, hashed; null when no interface is known for it. */
function forwardRules(spec: VmSpec, forward: Forward, address: Ipv4Address, interfaces: InterfaceName | readonly InterfaceName[] | null | undefined): ForwardRules | null {
  const list = interfaces === null || interfaces === undefined ? [] : typeof interfaces === "string" ? [interfaces] : [...interfaces];
  if (list.length === 0 && spec.forwards.some((f) => f.interfaces === null)) return null;
  const defaults = (list.length > 0 ? list : ["en0"]) as [InterfaceName, ...InterfaceName[]];
  const facts: HostFacts = { defaultInterfaces: defaults };
  const compiled = emitAnchor([{ spec, address }], facts);
  if (!compiled.ok) return null;
  const lines = compiled.text.split("\n").filter((_, i) => compiled.origins[i]?.forward === forward.name);
  return { forward, address, interfaces: forward.interfaces ?? defaults, hash: hashAnchor(lines.join("\n")) };
}

/** The recorded anchor hash is that of the recorded VMs rendered again (converge records both at once). */
function anchorRecordIntact(state: State): boolean {
  return state.anchorHash === null || loadedRules(state).matchesRecord;
}

/**
 * What differs between the loaded and the wanted rules, in a user's words, from the two
 * forwards as recorded and as annotated: where they redirect (protocol, interface, ports,
 * address), else their options.
 */
function describeChange(loaded: ForwardRules, wanted: ForwardRules): string {
  const [a, b] = [redirection(loaded), redirection(wanted)];
  if (a !== b) return `they forward ${a}; the annotation and address now say ${b}`;
  return "their options (sources, limits, logging) differ from the annotation's";
}

/** `tcp en0:2222 → 192.168.105.2:22`: the first interface's redirection (the others follow it). */
function redirection(rules: ForwardRules): string {
  const { forward, address, interfaces } = rules;
  const interfacesNote = interfaces.length > 1 ? ` (and ${interfaces.slice(1).join(", ")})` : "";
  return `${forward.protocol} ${interfaces[0]}:${formatRange(forward.host)} → ${address}:${formatRange(forward.guest)}${interfacesNote}`;
}

function hostPortStep(facts: DiagnoseFacts, forward: Forward): Step {
  const busy: string[] = [];
  const unknown: string[] = [];
  for (const { protocol, port } of portsToProbe(forward)) {
    const probe = facts.hostPorts.get(`${protocol}/${port}`) ?? "unknown";
    if (probe === "in-use") busy.push(`${protocol} ${port}`);
    else if (probe === "unknown") unknown.push(`${protocol} ${port}`);
  }
  if (busy.length > 0) {
    const [protocol, port] = busy[0]!.split(" ");
    return step(
      "host-port",
      "fail",
      `${busy.join(", ")} in use by a process on this Mac: PF's rdr takes its WAN clients, and while the rules are not loaded those clients reach that process instead of the VM`,
      `\`lsof -nP -i${protocol!.toUpperCase()}:${port}\` shows it; stop it, or choose another host port.`,
    );
  }
  if (unknown.length > 0) return step("host-port", "unknown", `could not test ${unknown.join(", ")} (a port below 1024 needs root to bind)`);
  const ranged = forward.host.last - forward.host.first + 1 > MAX_PORTS_PER_FORWARD ? ` (the first ${MAX_PORTS_PER_FORWARD} tested)` : "";
  return step("host-port", "pass", `${forward.protocol} ${formatRange(forward.host)} free on this Mac${ranged}`);
}

function wanInterfaceStep(facts: DiagnoseFacts, forward: Forward, interfaces: readonly InterfaceName[], applied: boolean): Step {
  if (interfaces.length === 0) {
    return step("wan-interface", "fail", "none: the Mac has no default route and the annotation names no interface", `Add \`interface en0\` to the annotation (or \`on en0\` to the forward).`);
  }
  const problems: string[] = [];
  const good: string[] = [];
  for (const name of interfaces) {
    const reading = facts.interfaces.get(name);
    if (!reading || !reading.ok) {
      problems.push(`${name}: ${reading && !reading.ok ? reading.reason : "not read"}`);
      continue;
    }
    const state = reading.value;
    if (!state) problems.push(`${name} does not exist`);
    else if (!state.up) problems.push(`${name} is down`);
    else if (!state.active) problems.push(`${name} has no link (status: inactive)`);
    else if (state.ipv4.length === 0) problems.push(`${name} has no IPv4 address`);
    else good.push(`${name} up, ${state.ipv4.join(", ")}`);
  }
  if (problems.length > 0) {
    return step("wan-interface", good.length > 0 ? "warn" : "fail", `${problems.join("; ")}: WAN clients cannot reach the forward there`, "Connect it, or name the interface that is (`interface IF` in the annotation, `on IF` on the forward, or `up --interface IF`).");
  }
  // The rules follow the default route when loaded; a move since then leaves them behind.
  if (applied && forward.interfaces === null && facts.defaultInterface && !interfaces.includes(facts.defaultInterface)) {
    return step("wan-interface", "warn", `${good.join("; ")}; the default route now goes out ${facts.defaultInterface}, where the rules do not listen`, `\`limactl limawan up ${facts.instance}\` moves them to ${facts.defaultInterface}.`);
  }
  return step("wan-interface", "pass", good.join("; "));
}

/** 100.64.0.0/10: the ISP's carrier-grade NAT (RFC 6598). */
function isCgnat(address: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(address) && ipaddr.IPv4.parse(address).range() === "carrierGradeNat";
}

function externalStep(facts: DiagnoseFacts, forward: Forward, interfaces: readonly InterfaceName[]): Step {
  const reading = facts.publicAddress!;
  if (!reading.ok) return step("external", "unknown", reading.reason, "LimaWAN cannot test from outside: from another network, try the commands in the notes.");
  const publicAddress = reading.value;
  if (forward.router && facts.router) {
    const recorded = facts.router.recorded ? forwardRouterStatus(facts.router.recorded, facts.instance, forward.name) : null;
    const judged = externalThroughRouter(publicAddress, facts.router.facts.externalAddress, recorded);
    if (judged) return fromFinding("external", judged);
  }
  const wan = interfaces.flatMap((name) => {
    const r = facts.interfaces.get(name);
    return r?.ok && r.value ? r.value.ipv4.map((address) => ({ name, address })) : [];
  });
  const port = `${forward.protocol.replace("+", " and ")} port ${formatRange(forward.host)}`;
  const onMac = wan.find((w) => w.address === publicAddress);
  if (onMac) return step("external", "pass", `the Mac holds the public address ${publicAddress} on ${onMac.name}: clients connect to ${publicAddress}:${formatRange(forward.host)} directly`);
  const cgnat = [publicAddress, ...wan.map((w) => w.address)].find(isCgnat);
  if (cgnat) {
    return step(
      "external",
      "warn",
      `${cgnat} is in 100.64.0.0/10: the ISP shares its public address among customers (carrier-grade NAT), and no router setting can forward a port through it`,
      "Ask the ISP for a public IPv4 address (often a paid option), or reach the Mac through a tunnel or VPN with a public endpoint.",
    );
  }
  const lan = wan[0] ? `${wan[0].address}` : "the Mac's address";
  return step(
    "external",
    "warn",
    `the internet sees ${publicAddress}, not ${wan.map((w) => `${w.address} (${w.name})`).join(", ") || "an address of the Mac's"}: the Mac is behind a router's NAT, which must forward ${port} to ${lan}`,
    `Forward ${port} on the router to ${lan}:${formatRange(forward.host)}. If the router's own WAN address (on its status page) is private (10.x, 172.16–31.x, 192.168.x) or in 100.64.0.0/10, another NAT sits in front of it (double NAT, or the ISP's CGNAT): that one needs the same forward, or cannot be crossed.`,
  );
}

// ------------------------------------------------------------------------------------------

function notes(facts: DiagnoseFacts, steps: Step[]): string[] {
  const spec = facts.annotation.spec;
  const notes: string[] = [];
  const vmAddress = facts.address?.kind === "found" ? facts.address.address : null;
  notes.push(
    `PF redirects only connections that arrive on the WAN interface: this Mac's own connections (to 127.0.0.1 or its own address) are not redirected, so a test from the Mac proves nothing.${vmAddress ? ` From the Mac, reach the VM directly at ${vmAddress}.` : ""}`,
  );
  const publicAddress = facts.publicAddress?.ok ? facts.publicAddress.value : null;
  const wanAddress = publicAddress ?? [...facts.interfaces.values()].flatMap((r) => (r.ok && r.value ? r.value.ipv4 : []))[0] ?? "MAC-ADDRESS";
  const tests = (spec?.forwards ?? []).map((f) => outsideTest(f, wanAddress));
  if (tests.length > 0) notes.push(`Test from outside (another network, e.g. a phone off Wi-Fi): ${tests.join("; ")}.`);
  if (steps.some((s) => s.verdict === "unknown" && s.detail.includes("needs root"))) {
    notes.push(`Steps marked unknown need root to read PF and LimaWAN's record: \`limactl limawan diagnose ${facts.instance} --sudo\`.`);
  }
  return notes;
}

function outsideTest(forward: Forward, address: string): string {
  const port = forward.host.first;
  if (forward.protocol === "udp") return `${forward.name}: \`nc -vzu ${address} ${port}\` (UDP has no handshake: silence proves nothing)`;
  if (forward.name === "http" || forward.guest.first === 80) return `${forward.name}: \`curl -v http://${address}:${port}/\``;
  if (forward.name === "https" || forward.guest.first === 443) return `${forward.name}: \`curl -vk https://${address}:${port}/\``;
  if (forward.name === "ssh" || forward.guest.first === 22) return `${forward.name}: \`ssh -p ${port} USER@${address}\``;
  return `${forward.name}: \`nc -vz ${address} ${port}\``;
}
