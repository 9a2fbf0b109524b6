// doctor's checks of what else on the Mac could keep a forward from working, as data: rules
// another tool loaded ahead of ours, interfaces PF skips, and Lima's own port forwards on the
// same host ports. Pure: doctor reads PF and lima.yaml and prints the findings.
import { formatRange, protocolsOf, rangesOverlap as overlaps, type VmSpec } from "../../compiler/ir.js";
import { ANCHOR, type OurPointKind } from "../../compiler/pf/anchor-points.js";
import { readListing, type PrintedRule } from "../../compiler/pf/printed-rule.js";
import { skipOption } from "../../compiler/pf/skip-option.js";
import type { LimaPortForward } from "../host/lima-yaml.js";

import { finding, type Finding } from "./finding.js";

/** The anchors referenced before ours in a printed part of the main ruleset (`com.apple/*` as it is printed), and the rules before ours. */
export function anchorsBefore(printed: string, kind: OurPointKind): { before: string[]; rulesBefore: PrintedRule[] } {
  const rules = readListing(printed);
  const ours = rules.findIndex((r) => r.anchorCall?.kind === kind && r.anchorCall.name === ANCHOR);
  const earlier = ours < 0 ? rules : rules.slice(0, ours);
  // `X/*` evaluates X's children: the caller lists them.
  const before = earlier.flatMap((r) => (r.anchorCall?.kind === kind && r.anchorCall.name !== ANCHOR ? [r.anchorCall.name] : []));
  return { before, rulesBefore: earlier.filter((r) => r.anchorCall === null) };
}

/**
 * Rules evaluated before ours that take our traffic: an earlier `rdr` on a forwarded host port
 * (translation: the first match wins, so ours never applies), or an earlier `quick` filter rule
 * on a forward's guest port (it decides before our pass).
 */
export function shadowingRules(specs: readonly VmSpec[], where: string, translation: readonly PrintedRule[], filter: readonly PrintedRule[]): Finding[] {
  const findings: Finding[] = [];
  for (const spec of specs) {
    for (const f of spec.forwards) {
      const rdr = translation.find((r) => r.redirects && (r.ports ?? [{ first: 1, last: 65535 }]).some((p) => overlaps(p, f.host)));
      if (rdr) {
        const pass = rdr.passes ? ` It is a \`${rdr.keyword} pass\` rule: what it redirects skips filtering altogether.` : "";
        findings.push(finding("rule-ahead", "warn", "other rules", `${spec.vm}/${f.name}: ${where} redirects host port ${formatRange(f.host)} before LimaWAN can: \`${rdr.text}\``, `That rule wins (translation is first match): remove it, or pick another host port.${pass}`));
      }
      const quick = filter.find((r) => r.filters && r.quick && (r.ports ?? []).some((p) => overlaps(p, f.guest) || overlaps(p, f.host)));
      if (quick) {
        findings.push(finding("quick-rule-ahead", "warn", "other rules", `${spec.vm}/${f.name}: ${where} has a quick rule for its ports ahead of LimaWAN's: \`${quick.text}\``, "A quick rule evaluated first decides: LimaWAN's allow-list, limits and bans never see that traffic."));
      }
    }
  }
  return findings;
}

/** The interfaces the forwards listen on: each forward's own, or the defaults (the default route's). */
export function wanInterfaces(specs: readonly VmSpec[], defaults: readonly string[]): string[] {
  return [...new Set(specs.flatMap((s) => s.forwards.flatMap((f) => f.interfaces ?? defaults)))];
}

/** WAN interfaces `set skip on` exempts from PF: LimaWAN's rules on them never fire. */
export function skippedWan(skipped: ReadonlySet<string>, specs: readonly VmSpec[], defaults: readonly string[]): Finding[] {
  return wanInterfaces(specs, defaults).filter((i) => skipped.has(i)).map((i) => {
    const option = skipOption([i]).option ?? i;
    return finding("wan-skipped", "fail", "other rules", `PF skips ${i} (\`${option}\` in the loaded ruleset): no forward on it can work`, `Remove \`${option}\` from pf.conf (it is meant for lo0), or forward on another interface.`);
  });
}

/**
 * Lima's own portForwards of this VM that bind a host port LimaWAN forwards, beyond loopback:
 * hostIP 0.0.0.0 or a host address, or 127.0.0.1 below 1024 (on macOS Lima serves those from a
 * 0.0.0.0 "pseudoloopback" listener, LIMA-FACTS.md §7). `up` refuses a port a process listens on,
 * and PF would take that port's traffic on the WAN before Lima's listener saw it. A loopback
 * forward is no clash: the Mac reaches the VM through Lima, WAN clients through LimaWAN.
 */
export function limaForwardClashes(spec: VmSpec, forwards: readonly LimaPortForward[]): Finding[] {
  const findings: Finding[] = [];
  for (const f of spec.forwards) {
    const clash = forwards.find((p) =>
      overlaps(p.hostPort, f.host) &&
      (p.proto === "any" || protocolsOf(f.protocol).includes(p.proto)) &&
      (!isLoopback(p.hostIP) || p.hostPort.first < 1024));
    if (!clash) continue;
    findings.push(
      finding(
        "lima-port-forward",
        "fail",
        `instance ${spec.vm}`,
        `${spec.vm}/${f.name}: Lima's own portForwards (lima.yaml line ${clash.line}) also binds host port ${formatRange(f.host)} on ${isLoopback(clash.hostIP) ? "0.0.0.0 (a privileged port)" : clash.hostIP}`,
        "`up` refuses a port a process listens on, and PF would take its WAN traffic anyway: drop Lima's portForwards entry or pick another host port.",
      ),
    );
  }
  return findings;
}

const isLoopback = (ip: string) => ip.startsWith("127.") || ip === "::1" || ip === "localhost";

/**
 * WAN interfaces that are a bridge's members. macOS adds an interface to bridge100 when Internet
 * Sharing shares the Mac's connection *to* it (System Settings › General › Sharing › Internet
 * Sharing › "To devices using"). A BSD bridge hands its members' traffic for the host to IP as
 * the bridge's own (FreeBSD if_bridge(4), pfil_member/pfil_local_phys; XNU's if_bridge.c is
 * derived from it), so an `rdr on en1` may never see WAN connections. A warning, not a failure:
 * what XNU does for rdr on a member is not measured (the darwin suite has no second Mac).
 */
export function bridgedWan(bridges: ReadonlyMap<string, readonly string[]>, wan: readonly string[]): Finding[] {
  const findings: Finding[] = [];
  for (const iface of wan) {
    for (const [bridge, members] of bridges) {
      if (!members.includes(iface)) continue;
      findings.push(
        finding(
          "wan-bridged",
          "warn",
          "WAN interfaces",
          `${iface} is a member of ${bridge} (Internet Sharing to ${iface}, or a bridge made in Network settings): its traffic for the Mac is the bridge's`,
          `Forward on the interface that carries the Mac's own Internet address, or take ${iface} out of ${bridge} (Internet Sharing: System Settings › General › Sharing).`,
        ),
      );
    }
  }
  return findings;
}
