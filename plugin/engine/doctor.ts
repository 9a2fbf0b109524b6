// `doctor`'s judgement: prerequisites and the host, from facts alone (doctor-facts.ts reads them),
// each finding with what to do about it. Pure. A fact that could not be read is said to be
// unknown with its reason (and --sudo where root would have read it), never taken for a default.
import type { VmSpec } from "../../compiler/ir.js";
import { anchorPoint, FILTER_POINT, RDR_POINT } from "../../compiler/pf/anchor-points.js";
import { anchorPointsOf } from "../../compiler/pf/loaded-ruleset-edit.js";
import { anchorPointsIn } from "../../compiler/pf/pf-conf-edit.js";
import { readListing } from "../../compiler/pf/printed-rule.js";
import { printable } from "../../compiler/printable.js";
import { atLeast, limaCannotReadHint } from "../host/lima.js";
import { limaPortForwards } from "../host/lima-yaml.js";
import { IP_FORWARDING } from "../host/sysctl.js";
import { anchorsBefore, bridgedWan, limaForwardClashes, shadowingRules, skippedWan, wanInterfaces } from "./doctor-checks.js";
import type { DoctorFacts, InstanceFacts } from "./doctor-facts.js";
import { finding, type Finding } from "./finding.js";
import type { Unread } from "./reading.js";
import { missingPointsReason } from "./status-report.js";
import { unreachableReason } from "./vm-address.js";
import { doctorRouterFinding } from "./router-report.js";

const SUDO = "`limactl limawan doctor --sudo` reads PF too.";

export function doctor(facts: DoctorFacts, now: number): Finding[] {
  const { platform, isRoot } = facts;
  const found: Finding[] = [
    platform === "darwin" ? finding("macos", "pass", "macOS", platform) : finding("macos", "fail", "macOS", platform, "LimaWAN changes macOS PF; on other systems only plan/check work."),
    isRoot ? finding("root", "pass", "root", "running as root") : finding("root", "warn", "root", "not root: PF state cannot be read", SUDO),
    lima(facts),
    ...pf(facts, now),
    state(facts),
    forwarding(facts),
    facts.defaultInterface
      ? finding("default-route", "pass", "default route", `via ${facts.defaultInterface}`)
      : finding("default-route", "warn", "default route", "none found", "Forwards need `interface IF` in their annotation, or --interface."),
    rootCopy(facts),
    facts.untrusted.length > 0
      ? finding("root-owned-paths", "fail", "root-owned paths", facts.untrusted.join("; "), "Root refuses to act on these: `sudo chown root:wheel` and `chmod go-w` each one named (or point LIMAWAN_* at root-owned paths).")
      : finding("root-owned-paths", "pass", "root-owned paths", `root's alone: ${Object.keys(facts.rootPaths).join(", ")}`),
    ...daemon(facts),
  ];
  const { findings: instanceFindings, specs } = instances(facts);
  found.push(...instanceFindings, ...wan(facts, specs));
  // Unreadable PF was reported by the PF finding above.
  if (facts.pf.ok && specs.length > 0) found.push(...otherRules(facts, specs));
  if (facts.router) {
    const router = doctorRouterFinding(facts.router);
    found.push(finding("router", router.level === "ok" ? "pass" : router.level, "router", router.detail, router.hint));
  }
  return found;
}

/** Unknown, saying why, and how root would read it where it would. */
function unknown(code: string, title: string, reading: Unread, fix?: string): Finding {
  return finding(code, "unknown", title, reading.reason, fix ?? (reading.code === "needs-root" ? SUDO : undefined), reading.code);
}

function lima({ lima: version }: DoctorFacts): Finding {
  if (!version) return finding("lima", "fail", "Lima", "limactl not found on PATH", "Install Lima 2.0 or newer: brew install lima");
  // Found is found: a build from source says `limactl version <unknown>`.
  if (!("major" in version)) return finding("lima", "warn", "Lima", `limactl found, version unknown (it says \`${printable(version.text)}\`)`, "LimaWAN needs Lima 2.0 (2.1 for `limactl watch`); the watcher follows the instance directories while it cannot tell.");
  if (!atLeast(version, 2, 0)) return finding("lima", "fail", "Lima", version.text, "LimaWAN is a Lima 2.0 plugin: upgrade Lima.");
  if (!atLeast(version, 2, 1)) return finding("lima", "warn", "Lima", version.text, "Lima 2.1 adds `limactl watch`; the watcher falls back to the instance directories.");
  return finding("lima", "pass", "Lima", version.text);
}

/** pf.conf's points, then the loaded ruleset's and whether PF is on. */
function pf(facts: DoctorFacts, now: number): Finding[] {
  const found: Finding[] = [];
  const file = facts.pfConfFile;
  const points = facts.pfConf.ok ? anchorPointsIn(facts.pfConf.value) : null;
  const inFile = points ? points.rdr && points.filter : null;
  if (!facts.pfConf.ok) found.push(finding("pf-conf", "fail", "pf.conf", `cannot read ${file}`, facts.pfConf.reason, facts.pfConf.code));
  else if (inFile) found.push(finding("pf-conf-points", "pass", "pf.conf anchor points", `present in ${file}`));
  else found.push(finding("pf-conf-points", "warn", "pf.conf anchor points", `missing from ${file}`, "`limactl limawan install` puts them back (a macOS update may have rewritten the file)"));
  if (!facts.pf.ok) return [...found, unknown("pf", "PF", facts.pf, facts.pf.hint ?? SUDO)];
  const { main, enabled } = facts.pf.value;
  const loaded = anchorPointsOf(main);
  if (loaded.rdr && loaded.filter) found.push(finding("loaded-points", "pass", "loaded anchor points", `${RDR_POINT} and ${FILTER_POINT} are loaded`));
  else {
    const recorded = facts.state.ok && facts.state.value.read.ok ? facts.state.value.read.state : null;
    found.push(finding("loaded-points", "warn", "loaded anchor points", "not in the loaded ruleset", missingPointsReason(recorded, inFile, now)));
  }
  found.push(enabled ? finding("pf", "pass", "PF", "enabled") : finding("pf", "warn", "PF", "disabled", "`up` enables it with its own reference when a forward is applied"));
  return found;
}

/** LimaWAN's record: damaged now, or rebuilt from PF since (the damaged file kept beside it). */
function state(facts: DoctorFacts): Finding {
  if (!facts.state.ok) return finding("state", "unknown", "state", facts.state.reason, facts.state.code === "needs-root" ? "`limactl limawan doctor --sudo` reads it too." : undefined, facts.state.code);
  const { read, kept } = facts.state.value;
  if (!read.ok) return finding("state", "warn", "state", `${facts.stateFile} is damaged (${read.reason})`, "`limactl limawan up --all` (or `down`) moves it aside and rebuilds it from PF's rules");
  if (kept.length > 0) return finding("state", "warn", "state", `rebuilt from PF's rules after it was damaged; the damaged file is kept as ${kept.join(", ")}`, "Read it to see what went wrong, then remove it (`sudo rm` it).");
  return finding("state", "pass", "state", `${facts.stateFile}: not damaged`);
}

function forwarding({ forwarding: value }: DoctorFacts): Finding {
  if (!value.ok) return finding("ip-forwarding", "unknown", "IP forwarding", "cannot read", undefined, value.code);
  if (value.value === "1") return finding("ip-forwarding", "pass", "IP forwarding", `${IP_FORWARDING}=1`);
  return finding("ip-forwarding", "warn", "IP forwarding", `${IP_FORWARDING}=${value.value}`, value.value === "0" ? "`up` turns it on when a forward is applied" : undefined);
}

/** What root runs (the daemon, a sudoers rule): a copy root owns alone, file by file. */
function rootCopy({ rootCopy: copy, version }: DoctorFacts): Finding {
  const title = "root's copy";
  if (copy.installed === null) return finding("root-copy", "warn", title, `not installed in ${copy.dir}`, "`limactl limawan install` makes it (the watch daemon runs it)");
  if (copy.problems.length > 0) return finding("root-copy", "fail", title, `${copy.dir}: ${copy.problems[0]}`, "`limactl limawan install` makes it again, owned by root");
  if (copy.installed !== version) return finding("root-copy", "warn", title, `${copy.dir} holds ${copy.installed}, this is ${version}`, "`limactl limawan install` updates it");
  if (!copy.holdsThisBuild) return finding("root-copy", "warn", title, `${copy.dir} holds another build of ${version} than this one`, "`limactl limawan install` updates it (the watch daemon runs the copy)");
  return finding("root-copy", "pass", title, `${copy.launcher} (${copy.installed}), root's alone`);
}

function daemon({ daemon: status }: DoctorFacts): Finding[] {
  if (!status.ok) return [unknown("watch-daemon", "watch daemon", status)];
  const { loaded, installed, log } = status.value;
  if (loaded) return [finding("watch-daemon", "pass", "watch daemon", `loaded (log: ${log})`)];
  return [finding("watch-daemon", "warn", "watch daemon", installed ? "installed but not loaded" : "not installed", "`limactl limawan install` — or run `limactl limawan up NAME` after each start")];
}

/** Each annotated instance (and each LimaWAN cannot read); the specs the host checks then use. */
function instances(facts: DoctorFacts): { findings: Finding[]; specs: VmSpec[] } {
  if (!facts.instances.ok) {
    // No limactl at all is the Lima finding's: said once.
    return { findings: facts.instances.code === "tool-missing" ? [] : [finding("instances", "fail", "Lima instances", `cannot list them: ${facts.instances.reason}`, "`limactl list` shows what Lima says.", facts.instances.code)], specs: [] };
  }
  const findings: Finding[] = [];
  const specs: VmSpec[] = [];
  for (const entry of facts.instances.value) {
    const judged = instance(entry);
    findings.push(...judged.findings);
    if (judged.spec) specs.push(judged.spec);
  }
  return { findings, specs };
}

/**
 * Lima knows nothing of an instance whose file it cannot read, its networks included: say that,
 * in Lima's words. A failure for an annotated VM; a warning for one LimaWAN cannot tell
 * (unreadable YAML); nothing for the others, which are not LimaWAN's.
 */
function instance({ instance, file, text, compiled: result, cannotRead }: InstanceFacts): { findings: Finding[]; spec: VmSpec | null } {
  if (!text.ok || !result) return { findings: [], spec: null };
  const unparsed = !result.annotated && result.diagnostics.some((d) => d.severity === "error");
  if (!result.annotated && !unparsed) return { findings: [], spec: null };
  const title = `instance ${instance.name}`;
  const code = "instance";
  const findings: Finding[] = [];
  if (cannotRead !== null) findings.push(finding(code, unparsed ? "warn" : "fail", title, `Lima cannot read ${file}: ${printable(cannotRead)}`, limaCannotReadHint(file)));
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  const unreachable = unreachableReason(instance);
  if (errors.length > 0) findings.push(finding(code, unparsed ? "warn" : "fail", title, unparsed ? `LimaWAN cannot read ${file}: ${errors.length} error(s)` : `${errors.length} annotation error(s)`, `limactl limawan check ${instance.name}`));
  else if (cannotRead !== null) return { findings, spec: null };
  else if (unreachable) findings.push(finding(code, "fail", title, unreachable.message, unreachable.hint));
  else findings.push(finding(code, "pass", title, `${result.spec!.forwards.length} forward(s), ${instance.status.toLowerCase()}`));
  if (!result.spec) return { findings, spec: null };
  findings.push(...limaForwardClashes(result.spec, limaPortForwards(text.value)).map((f) => ({ ...f, title })));
  return { findings, spec: result.spec };
}

/**
 * A bridge member's traffic is the bridge's (Internet Sharing to the WAN). Before any
 * annotation, the default route's interface is the one forwards would use.
 */
function wan(facts: DoctorFacts, specs: readonly VmSpec[]): Finding[] {
  const defaults = facts.defaultInterface ? [facts.defaultInterface] : [];
  const used = specs.length > 0 ? wanInterfaces(specs, defaults) : defaults;
  if (!facts.bridges.ok) return [finding("wan-bridged", "unknown", "WAN interfaces", "cannot read `ifconfig -a`", undefined, facts.bridges.code)];
  const bridged = bridgedWan(facts.bridges.value, used);
  if (bridged.length === 0 && used.length > 0) return [finding("wan-bridged", "pass", "WAN interfaces", `${used.join(", ")}: in no bridge`)];
  return bridged;
}

/**
 * What else in the loaded ruleset keeps a forward from working: rules and named anchors PF
 * evaluates before LimaWAN's, and `set skip` on a WAN interface.
 */
function otherRules(facts: DoctorFacts, specs: readonly VmSpec[]): Finding[] {
  const title = "other rules";
  const other = facts.otherRules;
  if (!facts.pf.ok || !other) return [];
  if (!other.ok) return [finding("other-rules", "warn", title, `could not read the other rules: ${other.reason}`, undefined, other.code)];
  const { main } = facts.pf.value;
  const defaults = facts.defaultInterface ? [facts.defaultInterface] : [];
  const rdr = anchorsBefore(main.translation, "rdr-anchor");
  const filter = anchorsBefore(main.filter, "anchor");
  const found = shadowingRules(specs, "the main ruleset", rdr.rulesBefore, filter.rulesBefore);
  for (const reference of new Set([...rdr.before, ...filter.before])) {
    for (const name of other.value.wildcards.get(reference) ?? [reference]) {
      const rules = other.value.anchors.get(name) ?? { translation: "", filter: "" };
      found.push(...shadowingRules(specs, anchorPoint("anchor", name), rdr.before.includes(reference) ? readListing(rules.translation) : [], filter.before.includes(reference) ? readListing(rules.filter) : []));
    }
  }
  found.push(...skippedWan(other.value.skipped, specs, defaults));
  if (found.length === 0) return [finding("other-rules", "pass", title, "no rule ahead of LimaWAN's takes its ports; no WAN interface is skipped")];
  return found.map((f) => ({ ...f, title }));
}
