// A guest that lies about its address must not steer WAN traffic (docs/security.md): when no
// lease of bootpd's vouches for a VM, LimaWAN takes the address the guest reports only if the
// Mac itself shows it to be the VM's — in the subnet of the vmnet bridge (ifconfig) or
// networks.yaml, none of the Mac's own addresses, not another VM's lease, and on a bridged
// network the VM's own in the Mac's ARP table. Through the built CLI, against the stand-ins.
import { readFileSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { removeLease } from "../standins/lib/leases.mjs";
import { createSandbox, type Sandbox } from "./harness.js";

vi.setConfig({ testTimeout: 60_000 });

/** A home LAN on en0 (192.168.1.0/24), Lima's shared network on bridge100, vzNAT's on bridge101. */
const MAC = {
  IFCONFIG_STANDIN_INTERFACES: "lo0 en0 en1 bridge100 bridge101",
  IFCONFIG_STANDIN_ADDRESSES: "en0=192.168.1.20/24,bridge100=192.168.105.1/24,bridge101=192.168.64.1/24",
  ROUTE_STANDIN_GATEWAY: "192.168.1.1",
};
const annotated = (network: string, port: number) => `networks:\n  - ${network}\nx-limawan: |\n  interface en0\n  expose http 80 as ${port}\n`;

let sb: Sandbox;
afterEach(async () => {
  await sb?.cleanup();
});

/** The guest now says its lima0 has `address` (what a compromised guest's `ip addr` would say). */
function claim(name: string, address: string): void {
  const file = `${sb.paths.limaHome}/${name}/standin-guest.json`;
  const state = JSON.parse(readFileSync(file, "utf8")) as { addresses: Record<string, string> };
  writeFileSync(file, JSON.stringify({ ...state, addresses: { ...state.addresses, lima0: address } }));
}

const anchorRules = async () => JSON.stringify(await sb.pfState());

describe("an address only the guest vouches for", () => {
  it("vzNAT: the Mac's own vmnet address, a LAN host and another VM's address are refused; its bridge's is taken", async () => {
    sb = await createSandbox({ env: MAC });
    await sb.addInstance("nat", annotated("vzNAT: true", 8080));
    await sb.addInstance("db", annotated("lima: shared", 8081));
    await sb.startVm("nat");
    await sb.startVm("db");
    // No lease of nat's in bootpd's file: LimaWAN must ask the guest.
    removeLease(sb.paths.dhcpdLeases, sb.macAddress("nat"));
    const neighbour = sb.leasedAddress("db")!;
    // One refusal per fact the CLI reads (the Mac's interfaces, the network it serves, bootpd's
    // leases); every refusal itself is judged in test/engine/guest-address.test.ts.
    for (const [address, why] of [
      ["192.168.64.1", /192\.168\.64\.1, reported by the guest itself, is the Mac's own address on bridge101/],
      ["192.168.1.1", /192\.168\.1\.1, reported by the guest itself, is outside the network the Mac serves it on \(a vmnet bridge of the Mac's/],
      [neighbour, /is leased by the Mac's DHCP server to another machine/],
    ] as const) {
      claim("nat", address);
      const up = await sb.run(["up", "nat"]);
      expect(up.exitCode, `${address}: ${up.stderr}`).toBe(1);
      expect(up.stderr).toMatch(/refusing to forward to `nat`/);
      expect(up.stderr).toMatch(why);
      expect(await anchorRules()).not.toMatch(/limawan:nat/);
    }
    // status says why it is not forwarded.
    const status = await sb.run(["status", "nat"]);
    expect(status.stdout).toMatch(/not forwarded: refusing to forward to `nat`: its address .* is leased by the Mac's DHCP server to another machine/);
    const json = JSON.parse((await sb.run(["status", "nat", "--json"])).stdout) as { instances: Array<{ notForwarded: string | null }> };
    expect(json.instances[0]!.notForwarded).toMatch(/leased by the Mac's DHCP server to another machine/);
    // The watcher's view, through diagnose: the address step says the same.
    const diagnose = JSON.parse((await sb.run(["diagnose", "nat", "--json"])).stdout) as { forwards: Array<{ steps: Array<{ id: string; verdict: string; detail: string }> }> };
    expect(diagnose.forwards[0]!.steps.find((s) => s.id === "address")).toMatchObject({ verdict: "fail", detail: expect.stringMatching(/leased by the Mac's DHCP server to another machine/) });

    claim("nat", "192.168.64.50");
    const ok = await sb.run(["up", "nat"]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(await anchorRules()).toMatch(/-> 192\.168\.64\.50 port 80/);
  });

  it("bridged to the LAN: taken only when the Mac's ARP table maps it to the VM's own MAC", async () => {
    sb = await createSandbox({ env: MAC });
    await sb.addInstance("lan", annotated("lima: bridged", 8080));
    await sb.startVm("lan");
    claim("lan", "192.168.1.1");
    sb.setArp("192.168.1.1", "3c:22:fb:00:00:01"); // the router
    const router = await sb.run(["up", "lan"]);
    expect(router.exitCode, router.stderr).toBe(1);
    expect(router.stderr).toMatch(/192\.168\.1\.1, reported by the guest itself, belongs to another machine on the LAN: the Mac's ARP table maps it to 3c:22:fb:0:0:1/);

    claim("lan", "192.168.1.50");
    const unknown = await sb.run(["up", "lan"]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/has no entry in the Mac's ARP table/);
    expect(unknown.stderr).toMatch(/ping -c 1 192\.168\.1\.50/);

    sb.setArp("192.168.1.50", sb.macAddress("lan"));
    const ok = await sb.run(["up", "lan"]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(await anchorRules()).toMatch(/-> 192\.168\.1\.50 port 80/);
  });
});
