// --external: the Mac's address as the internet sees it, against its WAN addresses (NAT, CGNAT).
import ipaddr from "ipaddr.js";
import { formatRange, type Forward, type InterfaceName } from "../../../compiler/ir.js";
import { externalThroughRouter, forwardRouterStatus } from "../router-report.js";
import type { DiagnoseFacts } from "./facts.js";
import { fromRouterFinding } from "./router.js";
import { step, type DiagnoseStep, type Step } from "./step.js";

export const external: DiagnoseStep = {
  id: "external",
  per: "forward",
  dependsOn: [],
  when: (facts) => facts.publicAddress !== null,
  judge: ({ facts, forward, interfaces }) => externalStep(facts, forward, interfaces),
};

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
    if (judged) return fromRouterFinding("external", judged);
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
