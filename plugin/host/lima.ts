// Lima adapter: instances from `limactl list --json` (JSON Lines from a pipe; the key is
// `network`, singular — LIMA-FACTS.md §2), lima.yaml from the instance directory, and the
// guest's vmnet address from the host's DHCP leases, else from the guest itself.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Ipv4Address } from "../../compiler/ir.js";
import { parseIpv4Address, vmAddressProblem, vmNetwork, type VmNetwork } from "../../compiler/validate/addresses.js";
import { parse as parseYaml } from "yaml";
import { CliError, EXIT } from "../errors.js";
import { addressForMac, parseLeases } from "./dhcp-leases.js";
import type { Runner } from "./run.js";

export interface LimaNetwork { lima?: string; vzNAT?: boolean; socket?: string; macAddress?: string; interface?: string }

export interface Instance {
  name: string;
  status: string;
  dir: string;
  network: LimaNetwork[];
  hostAgentPID?: number;
}

export function parseInstanceList(stdout: string): Instance[] {
  const instances: Instance[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CliError(EXIT.HOST_COMMAND, "`limactl list --json` printed something that is not JSON Lines", "Is limactl 2.0 or newer?", line.slice(0, 200));
    }
    const v = value as Partial<Instance>;
    if (typeof v.name !== "string" || typeof v.status !== "string") continue;
    instances.push({
      name: v.name,
      status: v.status,
      dir: typeof v.dir === "string" ? v.dir : "",
      network: Array.isArray(v.network) ? v.network : [],
      ...(typeof v.hostAgentPID === "number" ? { hostAgentPID: v.hostAgentPID } : {}),
    });
  }
  return instances;
}

/** Networks PF can route to: vmnet (lima:shared/host/bridged, socket_vmnet) and vzNAT; not user-v2. */
export function routableNetworks(instance: Instance): LimaNetwork[] {
  return instance.network.filter((n) => n.vzNAT === true || Boolean(n.socket) || (Boolean(n.lima) && n.lima !== "user-v2"));
}

export class Lima {
  constructor(
    private readonly runner: Runner,
    private readonly limaHome: string,
    private readonly leasesFile: string,
  ) {}

  async list(names: readonly string[] = []): Promise<Instance[]> {
    const result = await this.runner.run("limactl", ["list", "--json", ...names], { asUser: true });
    if (result.exitCode !== 0) {
      const unmatched = /unmatched instances/.test(result.stderr);
      throw new CliError(
        unmatched ? EXIT.FAILURE : EXIT.HOST_COMMAND,
        unmatched ? `no Lima instance named ${names.join(", ")}` : "`limactl list --json` failed",
        unmatched ? "See `limactl list` for the instances you have." : undefined,
        unmatched ? undefined : result.stderr,
      );
    }
    return parseInstanceList(result.stdout);
  }

  configFile(name: string): string {
    return path.join(this.limaHome, name, "lima.yaml");
  }

  async readConfig(name: string): Promise<string> {
    return readFile(this.configFile(name), "utf8");
  }

  /** The guest's address on its vmnet network, or null when it has none yet. */
  async guestAddress(instance: Instance): Promise<Ipv4Address | null> {
    const networks = routableNetworks(instance);
    let leases: string | null = null;
    try {
      leases = await readFile(this.leasesFile, "utf8");
    } catch {
      leases = null; // no lease file yet (no vmnet VM ever started): ask the guest
    }
    if (leases) {
      const parsed = parseLeases(leases);
      for (const network of networks) {
        if (network.lima === "bridged" || !network.macAddress) continue; // bridged leases live on the LAN's DHCP server
        const address = addressForMac(parsed, network.macAddress);
        if (address) return checkedVmAddress(instance.name, address, false);
      }
    }
    if (instance.status !== "Running") return null;
    const device = networks[0]?.interface ?? "lima0";
    const result = await this.runner.run("limactl", ["shell", "--workdir", "/", instance.name, "ip", "-4", "-j", "addr", "show", "dev", device], {
      asUser: true,
      timeoutMs: 20_000,
    });
    if (result.exitCode !== 0) return null;
    const address = parseIpAddrJson(result.stdout);
    return address && checkedVmAddress(instance.name, address, true, await this.network(networks[0]?.lima));
  }

  /** A vmnet network from $LIMA_HOME/_config/networks.yaml; null if bridged, unknown or unreadable. */
  private async network(name: string | undefined): Promise<VmNetwork | null> {
    if (!name) return null;
    try {
      const config = parseYaml(await readFile(path.join(this.limaHome, "_config", "networks.yaml"), "utf8")) as { networks?: Record<string, { mode?: string; gateway?: unknown; netmask?: unknown }> };
      const network = config?.networks?.[name];
      if (!network || network.mode === "bridged") return null;
      return vmNetwork(name, network.gateway, network.netmask ?? undefined);
    } catch {
      return null;
    }
  }
}

function checkedVmAddress(instance: string, address: Ipv4Address, reportedByGuest: boolean, network: VmNetwork | null = null): Ipv4Address {
  const problem = vmAddressProblem(address, reportedByGuest, network);
  if (!problem) return address;
  throw new CliError(
    EXIT.FAILURE,
    `refusing to forward to \`${instance}\`: its address ${problem}`,
    `PF would send the forwarded traffic there. Check the VM's network (limactl shell ${instance} ip addr).`,
  );
}

/** `ip -4 -j addr show dev lima0` → the first local address. */
export function parseIpAddrJson(stdout: string): Ipv4Address | null {
  try {
    const parsed = JSON.parse(stdout) as Array<{ addr_info?: Array<{ local?: string; family?: string }> }>;
    for (const link of parsed) {
      for (const info of link.addr_info ?? []) {
        const address = parseIpv4Address(info.local ?? "");
        if (address) return address;
      }
    }
  } catch {
    return null;
  }
  return null;
}
