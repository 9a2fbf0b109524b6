// `doctor`: prerequisites and host checks, each with what to do about it. Exit 1 when
// something needed is wrong; reads what it can without root and says what it could not.
import { existsSync } from "node:fs";
import { compileFile } from "../../compiler/pipeline.js";
import { bundleDir } from "../bundle.js";
import type { Context } from "../context.js";
import { anchorPoint, FILTER_POINT, RDR_POINT } from "../../compiler/pf/anchor-points.js";
import type { LoadedRuleset } from "../../compiler/pf/loaded-ruleset-edit.js";
import { readListing } from "../../compiler/pf/printed-rule.js";
import { pfConfHoldsPoints } from "../engine/anchor-points.js";
import { readState, readStateFile } from "../engine/state.js";
import { missingPointsReason } from "../engine/status-report.js";
import { rootOwnedPaths } from "../environment.js";
import { CliError, EXIT, failedForWantOfRoot, type ExitCode } from "../errors.js";
import { unreachableReason } from "../engine/vm-address.js";
import { printable } from "../../compiler/printable.js";
import { atLeast, limaCannotRead, limaCannotReadHint, limaPortForwards } from "../host/lima.js";
import { anchorsBefore, bridgedWan, limaForwardClashes, shadowingRules, skippedWan, wanInterfaces, type Finding } from "../engine/doctor-checks.js";
import type { InterfaceName, VmSpec } from "../../compiler/ir.js";
import { readRouterFacts } from "../engine/router-apply.js";
import { doctorRouterFinding } from "../engine/router-report.js";
import { IP_FORWARDING } from "../host/sysctl.js";
import { untrustedPaths } from "../host/trust.js";
import { VERSION } from "../version.js";

type Level = "ok" | "warn" | "fail" | "unknown";
interface Check { name: string; level: Level; detail: string; hint?: string }

export async function doctor(ctx: Context): Promise<ExitCode> {
  const { host } = ctx;
  const checks: Check[] = [];
  const add = (name: string, level: Level, detail: string, hint?: string) => checks.push({ name, level, detail, ...(hint ? { hint } : {}) });
  const { platform, isRoot } = ctx.environment;

  add("macOS", platform === "darwin" ? "ok" : "fail", platform, platform === "darwin" ? undefined : "LimaWAN changes macOS PF; on other systems only plan/check work.");
  add("root", isRoot ? "ok" : "warn", isRoot ? "running as root" : "not root: PF state cannot be read", isRoot ? undefined : "`limactl limawan doctor --sudo` reads PF too.");

  const version = await host.lima.version();
  if (!version) add("Lima", "fail", "limactl not found on PATH", "Install Lima 2.0 or newer: brew install lima");
  else if (!("major" in version)) {
    // Found is found: a build from source says `limactl version <unknown>`.
    add("Lima", "warn", `limactl found, version unknown (it says \`${printable(version.text)}\`)`, "LimaWAN needs Lima 2.0 (2.1 for `limactl watch`); the watcher follows the instance directories while it cannot tell.");
  } else if (!atLeast(version, 2, 0)) add("Lima", "fail", version.text, "LimaWAN is a Lima 2.0 plugin: upgrade Lima.");
  else if (!atLeast(version, 2, 1)) add("Lima", "warn", version.text, "Lima 2.1 adds `limactl watch`; the watcher falls back to the instance directories.");
  else add("Lima", "ok", version.text);

  const inFile = await pfConfHoldsPoints(host);
  if (inFile === null) add("pf.conf", "fail", `cannot read ${host.pfConf.file}`);
  else {
    add("pf.conf anchor points", inFile ? "ok" : "warn", inFile ? `present in ${host.pfConf.file}` : `missing from ${host.pfConf.file}`, inFile ? undefined : "`limactl limawan install` puts them back (a macOS update may have rewritten the file)");
  }

  // Read once: the anchor points here, the rules ahead of LimaWAN's in hostFindings.
  let mainRuleset: LoadedRuleset | null = null;
  try {
    mainRuleset = await host.pfctl.loadedMainRuleset();
    const loaded = host.pfctl.anchorPointsIn(mainRuleset);
    const ok = loaded.rdr && loaded.filter;
    const state = ok ? null : await readState(host).catch(() => null);
    add("loaded anchor points", ok ? "ok" : "warn", ok ? `${RDR_POINT} and ${FILTER_POINT} are loaded` : "not in the loaded ruleset", ok ? undefined : missingPointsReason(state, inFile, Date.now()));
    const enabled = await host.pfctl.enabled();
    add("PF", enabled ? "ok" : "warn", enabled ? "enabled" : "disabled", enabled ? undefined : "`up` enables it with its own reference when a forward is applied");
  } catch (error) {
    add("PF", "unknown", error instanceof CliError ? error.message : String(error), error instanceof CliError && error.hint ? error.hint : "`limactl limawan doctor --sudo` reads PF too.");
  }

  // LimaWAN's record: damaged now, or rebuilt from PF since (the damaged file kept beside it).
  try {
    const [read, kept] = await Promise.all([readStateFile(host), host.state.damagedCopies()]);
    if (!read.ok) add("state", "warn", `${host.state.file} is damaged (${read.reason})`, "`limactl limawan up --all` (or `down`) moves it aside and rebuilds it from PF's rules");
    else if (kept.length > 0) add("state", "warn", `rebuilt from PF's rules after it was damaged; the damaged file is kept as ${kept.join(", ")}`, "Read it to see what went wrong, then remove it (`sudo rm` it).");
    else add("state", "ok", `${host.state.file}: not damaged`);
  } catch (error) {
    add("state", "unknown", error instanceof Error ? error.message : String(error), failedForWantOfRoot(error, isRoot) ? "`limactl limawan doctor --sudo` reads it too." : undefined);
  }

  const forwarding = await host.sysctl.get(IP_FORWARDING).catch(() => null);
  add("IP forwarding", forwarding === null ? "unknown" : forwarding === "1" ? "ok" : "warn", forwarding === null ? "cannot read" : `${IP_FORWARDING}=${forwarding}`, forwarding === "0" ? "`up` turns it on when a forward is applied" : undefined);

  const iface = await host.route.defaultInterface();
  add("default route", iface ? "ok" : "warn", iface ? `via ${iface}` : "none found", iface ? undefined : "Forwards need `interface IF` in their annotation, or --interface.");

  // What root runs (the daemon, a sudoers rule): a copy root owns alone, file by file.
  const installed = host.rootCopy.installedVersion();
  const problems = host.rootCopy.problems();
  if (installed === null) add("root's copy", "warn", `not installed in ${host.rootCopy.dir}`, "`limactl limawan install` makes it (the watch daemon runs it)");
  else if (problems.length > 0) add("root's copy", "fail", `${host.rootCopy.dir}: ${problems[0]}`, "`limactl limawan install` makes it again, owned by root");
  else if (installed !== VERSION) add("root's copy", "warn", `${host.rootCopy.dir} holds ${installed}, this is ${VERSION}`, "`limactl limawan install` updates it");
  else if (!host.rootCopy.holds(bundleDir())) add("root's copy", "warn", `${host.rootCopy.dir} holds another build of ${VERSION} than this one`, "`limactl limawan install` updates it (the watch daemon runs the copy)");
  else add("root's copy", "ok", `${host.rootCopy.launcher} (${installed}), root's alone`);

  // Everything else root reads or runs: each must be root's alone, all the way up.
  const daemonPlist: Record<string, string> = existsSync(host.launchd.plistFile) ? { "the daemon's plist": host.launchd.plistFile } : {};
  const rootPaths = { ...rootOwnedPaths(ctx.environment.paths), ...daemonPlist };
  const untrusted = untrustedPaths(rootPaths);
  if (untrusted.length > 0) add("root-owned paths", "fail", untrusted.join("; "), "Root refuses to act on these: `sudo chown root:wheel` and `chmod go-w` each one named (or point LIMAWAN_* at root-owned paths).");
  else add("root-owned paths", "ok", `root's alone: ${Object.keys(rootPaths).join(", ")}`);

  const daemon = await host.launchd.status().catch(() => null);
  if (daemon) add("watch daemon", daemon.loaded ? "ok" : "warn", daemon.loaded ? `loaded (log: ${daemon.log})` : daemon.installed ? "installed but not loaded" : "not installed", daemon.loaded ? undefined : "`limactl limawan install` — or run `limactl limawan up NAME` after each start");

  const instances = await host.lima.list().catch(() => []);
  const specs: VmSpec[] = [];
  for (const instance of instances) {
    const text = await host.lima.readConfig(instance.name).catch(() => null);
    if (text === null) continue;
    const file = host.lima.configFile(instance.name);
    const result = compileFile({ vm: instance.name, file, text });
    // Lima knows nothing of an instance whose file it cannot read, its networks included: say
    // that, in Lima's words. A failure for an annotated VM; a warning for one LimaWAN cannot
    // tell (unreadable YAML); nothing for the others, which are not LimaWAN's.
    const cannotRead = limaCannotRead(instance) ? await host.lima.cannotReadReason(instance) : null;
    const unparsed = !result.annotated && result.diagnostics.some((d) => d.severity === "error");
    if (!result.annotated && !unparsed) continue;
    const name = `instance ${instance.name}`;
    if (cannotRead !== null) add(name, unparsed ? "warn" : "fail", `Lima cannot read ${file}: ${printable(cannotRead)}`, limaCannotReadHint(file));
    const errors = result.diagnostics.filter((d) => d.severity === "error");
    const unreachable = unreachableReason(instance);
    if (errors.length > 0) add(name, unparsed ? "warn" : "fail", unparsed ? `LimaWAN cannot read ${file}: ${errors.length} error(s)` : `${errors.length} annotation error(s)`, `limactl limawan check ${instance.name}`);
    else if (cannotRead !== null) continue;
    else if (unreachable) add(name, "fail", unreachable.message, unreachable.hint);
    else add(name, "ok", `${result.spec!.forwards.length} forward(s), ${instance.status.toLowerCase()}`);
    if (!result.spec) continue;
    specs.push(result.spec);
    for (const f of limaForwardClashes(result.spec, limaPortForwards(text))) add(`instance ${instance.name}`, f.level, f.detail, f.hint);
  }
  // The router is asked only when a forward is marked `router` (opt-in), UPnP only when one says `router upnp`.
  const routed = specs.flatMap((s) => s.forwards.filter((f) => f.router));
  if (routed.length > 0) {
    const finding = doctorRouterFinding(await readRouterFacts(host, (routed[0]!.interfaces?.[0] ?? iface ?? "en0") as InterfaceName, routed.some((f) => f.router!.upnp)));
    add("router", finding.level, finding.detail, finding.hint);
  }
  // A bridge member's traffic is the bridge's (Internet Sharing to the WAN): ifconfig needs no root.
  // Before any annotation, the default route's interface is the one forwards would use.
  const defaults = iface ? [iface] : [];
  const wan = specs.length > 0 ? wanInterfaces(specs, defaults) : defaults;
  const bridges = await host.ifconfig.bridges().catch(() => null);
  if (bridges === null) add("WAN interfaces", "unknown", "cannot read `ifconfig -a`");
  else {
    const bridged = bridgedWan(bridges, wan);
    for (const f of bridged) add("WAN interfaces", f.level, f.detail, f.hint);
    if (bridged.length === 0 && wan.length > 0) add("WAN interfaces", "ok", `${wan.join(", ")}: in no bridge`);
  }
  // Unreadable PF was reported by the PF check above.
  if (mainRuleset) for (const f of await hostFindings(ctx, mainRuleset, specs, defaults)) add("other rules", f.level, f.detail, f.hint);

  const failed = checks.some((c) => c.level === "fail");
  if (ctx.out.options.json) ctx.out.json({ ok: !failed, checks });
  else {
    const c = ctx.out.c;
    const mark: Record<Level, string> = { ok: c.green("ok  "), warn: c.yellow("warn"), fail: c.red("FAIL"), unknown: c.dim("??  ") };
    for (const check of checks) {
      ctx.out.print(`${mark[check.level]}  ${check.name}: ${check.detail}`);
      if (check.hint) ctx.out.print(`      ${c.dim(check.hint)}`);
    }
  }
  return failed ? EXIT.FAILURE : EXIT.OK;
}

/**
 * What else in the loaded ruleset keeps a forward from working: rules and named anchors PF
 * evaluates before LimaWAN's, and `set skip` on a WAN interface.
 */
async function hostFindings(ctx: Context, main: LoadedRuleset, specs: readonly VmSpec[], defaults: readonly string[]): Promise<Finding[]> {
  const { pfctl } = ctx.host;
  if (specs.length === 0) return [];
  try {
    const rdr = anchorsBefore(main.translation, "rdr-anchor");
    const filter = anchorsBefore(main.filter, "anchor");
    const findings = shadowingRules(specs, "the main ruleset", rdr.rulesBefore, filter.rulesBefore);
    for (const reference of new Set([...rdr.before, ...filter.before])) {
      // `com.apple/*` means every anchor under com.apple (the children services add at run time).
      const wildcard = reference.endsWith("/*");
      const names = wildcard ? await pfctl.anchorsUnder(reference.slice(0, -2)) : [reference];
      for (const name of names) {
        const rules = await pfctl.anchorRules(name);
        findings.push(...shadowingRules(specs, anchorPoint("anchor", name), rdr.before.includes(reference) ? readListing(rules.translation) : [], filter.before.includes(reference) ? readListing(rules.filter) : []));
      }
    }
    findings.push(...skippedWan(await pfctl.skippedInterfaces(), specs, defaults));
    if (findings.length === 0) return [{ level: "ok", detail: "no rule ahead of LimaWAN's takes its ports; no WAN interface is skipped", hint: "" }];
    return findings;
  } catch (error) {
    return [{ level: "warn", detail: `could not read the other rules: ${error instanceof Error ? error.message : String(error)}`, hint: "" }];
  }
}
