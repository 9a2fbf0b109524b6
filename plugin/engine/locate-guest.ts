// Where a VM is: bootpd's lease for its MAC (root's file, which the guest cannot forge), else —
// running, on a bridged network or before the lease file has it — what the guest's own interface
// says, checked against what the Mac itself knows (guest-address.ts decides; this reads).
import type { Ipv4Address } from "../../compiler/ir.js";
import { vmAddressProblem, vmNetwork } from "../../compiler/validate/addresses.js";
import { CliError, EXIT, isReason } from "../errors.js";
import type { Host } from "../host/index.js";
import { addressForMac, normaliseMac } from "../host/leases.js";
import { guestDevice, routableNetworks, type Instance, type LimaNetwork } from "../host/lima.js";
import { guestAddressRefusal, type GuestNetwork } from "./guest-address.js";

/** A guest's address, and whether bootpd's lease or the guest itself (on `device`) gave it. */
export type LocatedGuest = { address: Ipv4Address; source: "lease" } | { address: Ipv4Address; source: "guest"; device: string };

/**
 * The guest's address on its vmnet network and where it came from; null when it has none yet.
 * Throws (exit 1) when the address is one PF must never redirect to, saying why.
 */
export async function locateGuest(host: Host, instance: Instance): Promise<LocatedGuest | null> {
  const networks = routableNetworks(instance);
  const leases = (await host.leases.read()) ?? [];
  const kinds = await Promise.all(networks.map((n) => guestNetworkOf(host, n)));
  for (const [i, network] of networks.entries()) {
    // A bridged VM's lease lives on the LAN's DHCP server, not in bootpd's file.
    if (kinds[i]!.kind === "bridged" || !network.macAddress) continue;
    const address = addressForMac(leases, network.macAddress);
    if (!address) continue;
    const problem = vmAddressProblem(address, false);
    if (problem) throw refused(instance.name, problem, checkGuest(instance.name));
    return { address, source: "lease" };
  }
  if (instance.status !== "Running" || networks.length === 0) return null;
  const device = guestDevice(instance);
  // A guest without its address yet (or not answering yet) has none; one that prints past the
  // output limit is refused, so the engine says why instead of waiting on it.
  const addresses = await host.lima.guest.ipv4Addresses(instance.name, device).catch((error: unknown) => {
    if (isReason(error, "output-too-large")) throw error;
    return [];
  });
  const address = addresses[0];
  if (!address) return null;
  const network = kinds[0]!;
  const mac = normaliseMac(networks[0]!.macAddress ?? "");
  const refusal = guestAddressRefusal(instance.name, address, {
    network,
    mac,
    interfaces: await host.ifconfig.interfaces(),
    leases,
    ...(network.kind === "bridged" ? { arp: await host.arp.macFor(address) } : {}),
  });
  if (refusal) throw refused(instance.name, refusal.problem, refusal.hint);
  return { address, source: "guest", device };
}

/** The guest's address, or null when it has none yet; throws like locateGuest. */
export async function guestAddress(host: Host, instance: Instance): Promise<Ipv4Address | null> {
  return (await locateGuest(host, instance))?.address ?? null;
}

/** What kind of network a lima.yaml `networks:` entry is, with what networks.yaml says of it. */
async function guestNetworkOf(host: Host, network: LimaNetwork): Promise<GuestNetwork> {
  if (network.vzNAT) return { kind: "vznat" };
  if (!network.lima) return { kind: "socket" };
  const config = await host.lima.networkConfig(network.lima);
  if (config?.mode === "bridged") return { kind: "bridged", name: network.lima, interface: config.interface ?? null };
  return { kind: "vmnet", name: network.lima, subnet: config ? vmNetwork(network.lima, config.gateway, config.netmask ?? undefined) : null };
}

function checkGuest(name: string): string {
  return `PF would send the forwarded traffic there. Check the VM's network (limactl shell ${name} ip addr).`;
}

function refused(name: string, problem: string, hint: string): CliError {
  return new CliError(EXIT.FAILURE, `refusing to forward to \`${name}\`: its address ${problem}`, hint, undefined, null, "address-refused");
}
