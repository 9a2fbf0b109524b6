// What the router's external address says about reaching the Mac from the internet. A private
// (RFC 1918) or shared (RFC 6598, 100.64.0.0/10: an ISP's carrier-grade NAT) address means
// another NAT sits outside the router: a mapping on this router alone cannot make the port
// reachable from the internet (tailscale#13745; miniupnpc reports it as UPNP_PRIVATEIP_IGD).
import ipaddr from "ipaddr.js";
import type { Ipv4Address } from "../../compiler/ir.js";

export type ExternalAddressKind =
  | "public"
  /** RFC 1918: a second router (a modem's own NAT, say) is outside this one. */
  | "private"
  /** RFC 6598: the ISP's carrier-grade NAT. */
  | "shared"
  /** 0.0.0.0: the router has no external address yet (NAT-PMP says so before its WAN is up). */
  | "none"
  /** Loopback, link-local, multicast, reserved: no address a router should report. */
  | "unusable";

export function classifyExternalAddress(address: Ipv4Address): ExternalAddressKind {
  if (!ipaddr.IPv4.isValidFourPartDecimal(address)) return "unusable";
  const parsed = ipaddr.IPv4.parse(address);
  switch (parsed.range()) {
    case "private":
      return "private";
    case "carrierGradeNat":
      return "shared";
    case "unspecified":
      return parsed.toString() === "0.0.0.0" ? "none" : "unusable";
    case "broadcast":
    case "multicast":
    case "linkLocal":
    case "loopback":
      return "unusable";
    default:
      // Unicast, and ipaddr.js's "reserved" ranges, which hold the documentation networks
      // (RFC 5737) the tests and examples use for public addresses.
      return "public";
  }
}

export function behindAnotherNat(kind: ExternalAddressKind): boolean {
  return kind === "private" || kind === "shared";
}

/** A sentence and what to do, for status and diagnose; null when the address is public. */
export function externalAddressProblem(address: Ipv4Address, kind: ExternalAddressKind): { summary: string; hint: string } | null {
  switch (kind) {
    case "public":
      return null;
    case "private":
    case "shared":
      return {
        summary: `the router's external address ${address} is ${kind === "shared" ? "the ISP's carrier-grade NAT space (100.64.0.0/10)" : "a private address (RFC 1918)"}: another NAT is outside it, so a mapping on this router cannot make the port reachable from the internet`,
        hint: kind === "shared"
          ? "Ask the ISP for a public IPv4 address, or reach the VM over IPv6 or through a tunnel."
          : "Map the port on the outer router too (or put this one in its DMZ / bridge mode), or reach the VM over IPv6 or through a tunnel.",
      };
    case "none":
      return { summary: "the router has no external address yet", hint: "Check the router's internet connection; LimaWAN maps again when it has one." };
    case "unusable":
      return { summary: `the router reports ${address} as its external address, which is no address on the internet`, hint: "Check the router's WAN settings." };
  }
}
