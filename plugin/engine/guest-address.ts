// Whether an address may be a VM's rdr target: PF sends WAN traffic wherever the target says.
// bootpd's lease (root's file, keyed by the VM's MAC) vouches for an address; an address only
// the guest reports is a claim, and a compromised guest would claim the Mac's own vmnet address
// (its services), a LAN host or another VM. So a claim must lie in a subnet the Mac serves for
// that VM — the vmnet bridge as ifconfig shows it, or networks.yaml's — and be none of the
// Mac's own addresses, no network or broadcast address, and no address bootpd leased to another
// MAC; on a bridged network the Mac's ARP table must map it to the VM's own MAC. Where that
// cannot be established the answer is no, never a guess. Pure: the facts are read beforehand.
import ipaddr from "ipaddr.js";
import type { Ipv4Address } from "../../compiler/ir.js";
import { vmAddressProblem, type VmNetwork } from "../../compiler/validate/addresses.js";
import type { HostInterface } from "../host/ifconfig.js";


/** How the VM reaches the Mac: its first routable network, as lima.yaml and networks.yaml say. */
export type GuestNetwork =
  /** `lima: shared|host` (vmnet through socket_vmnet): networks.yaml's subnet, null when it gives none. */
  | { kind: "vmnet"; name: string; subnet: VmNetwork | null }
  /** `lima: bridged` (or another bridged network): the Mac's interface it is bridged to. */
  | { kind: "bridged"; name: string; interface: string | null }
  /** `vzNAT: true`, or a socket_vmnet `socket:`: a vmnet bridge of the Mac's, whichever holds it. */
  | { kind: "vznat" | "socket" };

export interface GuestAddressFacts {
  network: GuestNetwork;
  /** The VM's MAC on that network (as normaliseMac writes it), null if unknown. */
  mac: string | null;
  interfaces: readonly HostInterface[];
  /** bootpd's leases. */
  leases: ReadonlyArray<{ mac: string; address: Ipv4Address; expires: number }>;
  /** On a bridged network: the MAC the Mac's ARP table gives the address (null: no entry). */
  arp?: string | null;
}

/** A refusal: what is wrong and what the user can do. */
export interface AddressRefusal { code: "address-refused"; problem: string; hint: string }

const CHECK_GUEST = (name: string) => `Check the VM's network (limactl shell ${name} ip addr).`;

/** Why `address`, reported by the guest of `instance`, must not be its target; null when it may. */
export function guestAddressRefusal(instance: string, address: Ipv4Address, facts: GuestAddressFacts): AddressRefusal | null {
  const refuse = (problem: string, hint = CHECK_GUEST(instance)): AddressRefusal => ({ code: "address-refused", problem: `${address}, reported by the guest itself, ${problem}`, hint });
  const basic = vmAddressProblem(address, true);
  if (basic) return { code: "address-refused", problem: basic, hint: CHECK_GUEST(instance) };

  const own = facts.interfaces.find((i) => i.ipv4.some((a) => a.address === address));
  if (own) return refuse(`is the Mac's own address on ${own.name}`);
  // bootpd keeps old blocks: the newest lease of the address says whose it is now.
  const leasedTo = facts.leases.filter((l) => l.address === address).sort((x, y) => y.expires - x.expires)[0];
  if (leasedTo && leasedTo.mac !== facts.mac) return refuse(`is leased by the Mac's DHCP server to another machine (${leasedTo.mac})`);

  const parsed = ipaddr.IPv4.parse(address);
  const served = servingSubnet(facts, parsed);
  if ("unknown" in served) return refuse(`cannot be checked: ${served.unknown}`, served.hint ?? CHECK_GUEST(instance));
  const { subnet, where } = served;
  if (!subnet || !contains(subnet, parsed)) {
    return refuse(`is outside the network the Mac serves it on (${where})`);
  }
  if (subnet.prefix <= 30) {
    if (address === subnet.network) return refuse(`is the network address of ${where}`);
    if (address === broadcastOf(subnet)) return refuse(`is the broadcast address of ${where}`);
  }
  if (facts.network.kind === "bridged") {
    if (facts.mac === null) return refuse("cannot be checked: the VM's MAC address is unknown");
    if (facts.arp == null) {
      return refuse("has no entry in the Mac's ARP table, so nothing shows it is the VM's", `Reach the VM from the Mac once (ping -c 1 ${address}), then run up again.`);
    }
    if (facts.arp !== facts.mac) return refuse(`belongs to another machine on the LAN: the Mac's ARP table maps it to ${facts.arp}, not to the VM's ${facts.mac}`);
  }
  return null;
}

interface Subnet { network: string; prefix: number }
type Served = { subnet: Subnet | null; where: string } | { unknown: string; hint?: string };

/** The subnet the Mac serves the VM on, from what the Mac itself reports (ifconfig) and networks.yaml. */
function servingSubnet(facts: GuestAddressFacts, address: ipaddr.IPv4): Served {
  const network = facts.network;
  const subnetOf = (i: HostInterface) => i.ipv4.map((a) => ({ ...toSubnet(a.address, a.prefix), where: `${i.name}, ${a.address}/${a.prefix}` }));
  switch (network.kind) {
    case "vmnet": {
      if (!network.subnet) return { unknown: `networks.yaml gives network ${network.name} no gateway and netmask` };
      const { gateway, prefix } = network.subnet;
      // The vmnet bridge holds the gateway: the network exists on this Mac, as networks.yaml says.
      const bridge = facts.interfaces.find((i) => i.ipv4.some((a) => a.address === gateway && a.prefix === prefix));
      if (!bridge) return { unknown: `no interface of the Mac holds ${network.name}'s gateway ${gateway}/${prefix}` };
      return { subnet: toSubnet(gateway, prefix), where: `${network.name}, ${gateway}/${prefix} on ${bridge.name}` };
    }
    case "bridged": {
      if (!network.interface) return { unknown: `networks.yaml names no interface for ${network.name}` };
      const lan = facts.interfaces.find((i) => i.name === network.interface);
      const first = lan ? subnetOf(lan)[0] : undefined;
      if (!first) return { unknown: `the Mac has no IPv4 address on ${network.interface}, the interface ${network.name} is bridged to` };
      return { subnet: first, where: first.where };
    }
    default: {
      // vzNAT and socket_vmnet: whichever of the Mac's bridges holds the address's subnet.
      const bridges = facts.interfaces.filter((i) => i.name.startsWith("bridge")).flatMap(subnetOf);
      if (bridges.length === 0) return { unknown: "the Mac has no vmnet bridge with an IPv4 address" };
      const holding = bridges.find((b) => contains(b, address));
      return holding ? { subnet: holding, where: holding.where } : { subnet: null, where: `a vmnet bridge of the Mac's: ${bridges.map((b) => b.where).join("; ")}` };
    }
  }
}

function contains(subnet: Subnet, address: ipaddr.IPv4): boolean {
  return address.match(ipaddr.IPv4.parse(subnet.network), subnet.prefix);
}

function toSubnet(address: string, prefix: number): Subnet {
  return { network: ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`).toString(), prefix };
}

function broadcastOf(subnet: Subnet): string {
  return ipaddr.IPv4.broadcastAddressFromCIDR(`${subnet.network}/${subnet.prefix}`).toString();
}
