// Where PF may send a VM's WAN traffic when only the guest vouches for its address
// (plugin/engine/guest-address.ts): plain facts in, a refusal or null out.
import { describe, expect, it } from "vitest";
import type { Ipv4Address } from "../../compiler/ir.js";
import { guestAddressRefusal, type GuestAddressFacts } from "../../plugin/engine/guest-address.js";

const VM_MAC = "52:55:55:aa:bb:1";
const mac = (n: number) => `52:55:55:aa:bb:${n.toString(16)}`;
const ip = (s: string) => s as Ipv4Address;
/** A Mac with Wi-Fi on a home LAN, Lima's shared network on bridge100 and vzNAT's on bridge101. */
const MAC_INTERFACES: GuestAddressFacts["interfaces"] = [
  { name: "lo0", ipv4: [{ address: ip("127.0.0.1"), prefix: 8 }] },
  { name: "en0", ipv4: [{ address: ip("192.168.1.20"), prefix: 24 }] },
  { name: "bridge100", ipv4: [{ address: ip("192.168.105.1"), prefix: 24 }] },
  { name: "bridge101", ipv4: [{ address: ip("192.168.64.1"), prefix: 24 }] },
];
const shared = (over: Partial<GuestAddressFacts> = {}): GuestAddressFacts => ({
  network: { kind: "vmnet", name: "shared", subnet: { name: "shared", gateway: "192.168.105.1", prefix: 24 } },
  mac: VM_MAC,
  interfaces: MAC_INTERFACES,
  leases: [{ mac: mac(0x77), address: ip("192.168.105.77"), expires: 100 }],
  ...over,
});
const problem = (address: string, facts: GuestAddressFacts) => guestAddressRefusal("web", ip(address), facts)?.problem ?? null;

describe("an address only the guest reports", () => {
  it("on Lima's shared network: inside its subnet as networks.yaml and the Mac's bridge say, and free", () => {
    expect(problem("192.168.105.50", shared())).toBeNull();
    expect(problem("192.168.105.1", shared())).toMatch(/is the Mac's own address on bridge100/);
    expect(problem("192.168.105.77", shared())).toMatch(/is leased by the Mac's DHCP server to another machine \(52:55:55:aa:bb:77\)/);
    expect(problem("192.168.1.1", shared())).toMatch(/is outside the network the Mac serves it on \(shared, 192\.168\.105\.1\/24 on bridge100\)/);
    expect(problem("192.168.105.0", shared())).toMatch(/is the network address of shared/);
    expect(problem("192.168.105.255", shared())).toMatch(/is the broadcast address of shared/);
    // Judged only here: test/e2e/plugin.e2e.test.ts takes one refusal (8.8.8.8) through the CLI.
    expect(problem("127.0.0.1", shared())).toMatch(/is a loopback address/);
    expect(problem("8.8.8.8", shared())).toMatch(/is not a private address/);
    expect(problem("10.0.0.5", shared())).toMatch(/is outside the network the Mac serves it on \(shared, 192\.168\.105\.1\/24 on bridge100\)/);
  });

  it("a lease of the address to the VM's own MAC, or an older one to another machine, does not count against it", () => {
    expect(problem("192.168.105.60", shared({ leases: [{ mac: VM_MAC, address: ip("192.168.105.60"), expires: 5 }] }))).toBeNull();
    const reassigned = [
      { mac: mac(0x99), address: ip("192.168.105.61"), expires: 5 },
      { mac: VM_MAC, address: ip("192.168.105.61"), expires: 9 },
    ];
    expect(problem("192.168.105.61", shared({ leases: reassigned }))).toBeNull();
  });

  it("refuses, never guesses, when the Mac cannot vouch for the network", () => {
    expect(problem("192.168.105.50", shared({ interfaces: MAC_INTERFACES.filter((i) => i.name !== "bridge100") }))).toMatch(/cannot be checked: no interface of the Mac holds shared's gateway 192\.168\.105\.1\/24/);
    expect(problem("192.168.105.50", shared({ network: { kind: "vmnet", name: "shared", subnet: null } }))).toMatch(/cannot be checked: networks\.yaml gives network shared no gateway and netmask/);
  });

  it("vzNAT and socket_vmnet: inside one of the Mac's vmnet bridges, none of the Mac's own addresses, no other VM's lease", () => {
    const vznat = shared({ network: { kind: "vznat" } });
    expect(problem("192.168.64.3", vznat)).toBeNull();
    expect(problem("192.168.105.1", vznat)).toMatch(/is the Mac's own address on bridge100/);
    expect(problem("192.168.1.1", vznat)).toMatch(/is outside the network the Mac serves it on \(a vmnet bridge of the Mac's: bridge100, 192\.168\.105\.1\/24; bridge101, 192\.168\.64\.1\/24\)/);
    expect(problem("192.168.105.77", shared({ network: { kind: "socket" } }))).toMatch(/leased by the Mac's DHCP server to another machine/);
    expect(problem("192.168.64.3", shared({ network: { kind: "socket" }, interfaces: MAC_INTERFACES.filter((i) => !i.name.startsWith("bridge")) }))).toMatch(/cannot be checked: the Mac has no vmnet bridge with an IPv4 address/);
  });

  it("bridged to the LAN: on the Mac's LAN subnet, and the Mac's ARP table maps it to the VM's own MAC", () => {
    const bridged = (arp: string | null) => shared({ network: { kind: "bridged", name: "bridged", interface: "en0" }, leases: [], arp });
    expect(problem("192.168.1.50", bridged(VM_MAC))).toBeNull();
    expect(problem("192.168.1.1", bridged("3c:22:fb:1:2:3"))).toMatch(/belongs to another machine on the LAN: the Mac's ARP table maps it to 3c:22:fb:1:2:3, not to the VM's 52:55:55:aa:bb:1/);
    expect(problem("192.168.1.50", bridged(null))).toMatch(/has no entry in the Mac's ARP table/);
    expect(guestAddressRefusal("web", ip("192.168.1.50"), bridged(null))?.hint).toMatch(/ping -c 1 192\.168\.1\.50/);
    expect(problem("192.168.1.20", bridged(VM_MAC))).toMatch(/is the Mac's own address on en0/);
    expect(problem("192.168.105.50", bridged(VM_MAC))).toMatch(/outside the network the Mac serves it on \(en0, 192\.168\.1\.20\/24\)/);
    expect(problem("192.168.1.50", { ...bridged(VM_MAC), mac: null })).toMatch(/the VM's MAC address is unknown/);
    expect(problem("192.168.1.50", shared({ network: { kind: "bridged", name: "bridged", interface: "en7" }, arp: VM_MAC }))).toMatch(/the Mac has no IPv4 address on en7/);
  });
});
