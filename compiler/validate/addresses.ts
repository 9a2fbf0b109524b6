// Source addresses: IPv4 hosts and networks, parsed by ipaddr.js (no hand-written regexes
// for what an address is). IPv6 is recognised and refused with its own diagnostic.
import ipaddr from "ipaddr.js";
import { CODES, DiagnosticSink } from "../diagnostic.js";
import type { Cidr, Ipv4Address, Located } from "../ir.js";
import { excerpt } from "../printable.js";

export type SourceCheck =
  | { kind: "any" }
  | { kind: "ok"; cidr: Cidr; hostBitsSet: boolean }
  | { kind: "ipv6" }
  | { kind: "invalid" };

/** Classify one `from` entry. Pure; the caller turns the result into diagnostics. */
export function checkSource(text: string): SourceCheck {
  if (text === "any") return { kind: "any" };
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? "32" : text.slice(slash + 1);
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) {
    // The prefix is a plain decimal 0–32; parseCIDR would accept "/024" or "/+8".
    if (!/^(?:[0-9]|[12][0-9]|3[0-2])$/.test(prefixText)) return { kind: "invalid" };
    const prefix = Number(prefixText);
    const network = ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`).toString();
    const canonical = prefix === 32 ? network : `${network}/${prefix}`;
    return { kind: "ok", cidr: canonical as Cidr, hostBitsSet: network !== ipaddr.IPv4.parse(address).toString() };
  }
  if (ipaddr.IPv6.isValid(address)) return { kind: "ipv6" };
  return { kind: "invalid" };
}

/** A VM address given on the command line or found in DHCP leases. */
export function parseIpv4Address(text: string): Ipv4Address | null {
  return ipaddr.IPv4.isValidFourPartDecimal(text) ? (ipaddr.IPv4.parse(text).toString() as Ipv4Address) : null;
}

const NEVER_A_VM = new Set(["unspecified", "broadcast", "multicast", "linkLocal", "loopback", "reserved"]);

/**
 * Why an address cannot be a VM's rdr target whatever the host says, or null. PF would send
 * WAN traffic wherever the target says, so loopback (the Mac's own services), broadcast and the
 * like are refused; an address the guest reported itself (no DHCP lease to vouch for it) must
 * also be private, as vmnet's networks are. What the Mac knows of its own networks is checked
 * on top of this, by plugin/engine/guest-address.ts.
 */
export function vmAddressProblem(address: Ipv4Address, reportedByGuest: boolean): string | null {
  const range = ipaddr.IPv4.parse(address).range();
  if (NEVER_A_VM.has(range)) return `${address} is a ${range} address`;
  if (reportedByGuest && range !== "private") return `${address}, reported by the guest itself, is not a private address`;
  return null;
}

/** A vmnet network as networks.yaml defines it: the Mac's address on it and the prefix length. */
export interface VmNetwork { name: string; gateway: string; prefix: number }

/** networks.yaml's gateway and netmask → a VmNetwork, or null when they are not IPv4 as Lima writes them. */
export function vmNetwork(name: string, gateway: unknown, netmask: unknown = "255.255.255.0"): VmNetwork | null {
  if (typeof gateway !== "string" || typeof netmask !== "string") return null;
  if (!ipaddr.IPv4.isValidFourPartDecimal(gateway) || !ipaddr.IPv4.isValidFourPartDecimal(netmask)) return null;
  const prefix = ipaddr.IPv4.parse(netmask).prefixLengthFromSubnetMask();
  return prefix === null ? null : { name, gateway, prefix };
}

/** Validate a source list; returns the canonical CIDRs (empty = any) or null on errors. */
export function validateSources(sources: readonly Located<string>[], sink: DiagnosticSink): Cidr[] | null {
  const out: Cidr[] = [];
  let ok = true;
  for (const source of sources) {
    const result = checkSource(source.value);
    switch (result.kind) {
      case "any":
        if (sources.length > 1) {
          sink.error(CODES.ANY_IN_LIST, source.at, "`any` cannot be combined with other addresses", "Write either `from any` or a list of addresses.");
          ok = false;
        }
        break;
      case "ok":
        if (result.hostBitsSet) {
          sink.warning(
            CODES.HOST_BITS_SET,
            source.at,
            `\`${source.value}\` has host bits set; it means the network ${result.cidr}`,
            `Write \`${result.cidr}\`, or /32 for a single address.`,
          );
        }
        if (!out.includes(result.cidr)) out.push(result.cidr);
        break;
      case "ipv6":
        sink.error(
          CODES.IPV6_UNSUPPORTED,
          source.at,
          `IPv6 source \`${excerpt(source.value)}\` is not supported yet`,
          "LimaWAN forwards IPv4 only for now; list IPv4 addresses or networks.",
        );
        ok = false;
        break;
      case "invalid":
        sink.error(
          CODES.INVALID_ADDRESS,
          source.at,
          `\`${excerpt(source.value)}\` is not an IPv4 address or network`,
          "Write addresses like 203.0.113.7 or networks like 203.0.113.0/24, separated by commas.",
        );
        ok = false;
        break;
    }
  }
  return ok ? out : null;
}
