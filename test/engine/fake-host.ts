// An in-memory host for the engine's unit tests: Lima instances with their lima.yaml and
// address, ports a local process holds. Only what desiredState asks of a Host is here; a call
// to anything else fails the test, so a test cannot pass by touching what it did not set up.
import type { Ipv4Address } from "../../compiler/ir.js";
import type { Host } from "../../plugin/host/index.js";
import type { Instance } from "../../plugin/host/lima.js";

export interface FakeVm {
  status?: "Running" | "Stopped" | "Broken";
  yaml?: string | null;
  /** The address its guest reports (no lease vouches for it: engine/guest-address.ts checks it). */
  address?: string | null;
  /** `networks:` entries as limactl list prints them (default: lima shared). */
  network?: Instance["network"];
}

export interface FakeHost extends Host {
  lookups: string[];
  probes: string[];
}

export function fakeHost(vms: Record<string, FakeVm>, busyPorts: string[] = []): FakeHost {
  const lookups: string[] = [];
  const probes: string[] = [];
  const instance = (name: string): Instance => ({
    name,
    status: vms[name]!.status ?? "Running",
    dir: `/lima/${name}`,
    network: vms[name]!.network ?? [{ lima: "shared", macAddress: "52:55:55:00:00:01", interface: "lima0" }],
  });
  const lima = {
    limaHome: "/lima",
    list: async () => Object.keys(vms).sort().map(instance),
    configFile: (name: string) => `/lima/${name}/lima.yaml`,
    readConfig: async (name: string) => {
      const yaml = vms[name]?.yaml;
      if (yaml === null || yaml === undefined) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      return yaml;
    },
    // Lima's shared network, on the Mac's bridge100 (below).
    networkConfig: async (name: string) => (name === "shared" ? { mode: "shared", gateway: "192.168.105.1", netmask: "255.255.255.0", interface: null } : null),
    guest: {
      ipv4Addresses: async (name: string) => {
        lookups.push(name);
        const address = vms[name]!.address ?? null;
        return address ? [address as Ipv4Address] : [];
      },
    },
  };
  const ifconfig = { interfaces: async () => [{ name: "en0", ipv4: [{ address: "203.0.113.10", prefix: 24 }] }, { name: "bridge100", ipv4: [{ address: "192.168.105.1", prefix: 24 }] }] };
  const listeners = {
    probe: async (protocol: string, port: number) => {
      probes.push(`${protocol}/${port}`);
      return busyPorts.includes(`${protocol}/${port}`) ? "in-use" : "free";
    },
  };
  // No lease file: every address is the guest's own report.
  const leases = { file: "/var/db/dhcpd_leases", read: async () => null };
  const unexpected = new Proxy({}, { get: (_t, key) => { throw new Error(`the engine asked the fake host for ${String(key)}`); } });
  return new Proxy({ lima, listeners, leases, ifconfig, lookups, probes, dryRun: false } as unknown as FakeHost, {
    get: (target, key) => (key in target ? target[key as keyof FakeHost] : (unexpected as Record<string, unknown>)[key as string]),
  });
}

/** lima.yaml with the statements as a literal block (statement i on line 4 + i). */
export const limaYaml = (...statements: string[]) => `networks:\n  - lima: shared\nx-limawan: |\n${statements.map((s) => `  ${s}\n`).join("")}`;
