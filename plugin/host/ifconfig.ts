// ifconfig adapter (read-only): whether a WAN interface is up, has a link and an IPv4 address,
// from macOS `ifconfig IF`: `en0: flags=8863<UP,…,RUNNING,…> mtu 1500`, then `inet A netmask
// 0xffffff00 broadcast B` lines and, for interfaces with media, `status: active|inactive`.
// Bridges (Internet Sharing's and vmnet's bridge100…) list their members as `member: IF flags=…`.
import { parseIpv4Address } from "../../compiler/validate/addresses.js";
import type { Ipv4Address } from "../../compiler/ir.js";
import { CliError, EXIT } from "../errors.js";
import type { Runner } from "./run.js";

export interface InterfaceState {
  name: string;
  /** The UP flag: configured up. */
  up: boolean;
  /** A link: RUNNING, and `status: active` where ifconfig reports a status. */
  active: boolean;
  ipv4: Ipv4Address[];
}

/** An interface of the Mac with its IPv4 addresses (`ifconfig -a`). */
export interface HostInterface { name: string; ipv4: Array<{ address: Ipv4Address; prefix: number }> }

export class Ifconfig {
  constructor(private readonly runner: Runner) {}

  /** The interface's state, or null when it does not exist. */
  async describe(name: string): Promise<InterfaceState | null> {
    const result = await this.runner.run("ifconfig", [name]);
    if (result.exitCode !== 0) {
      if (/does not exist/.test(result.stderr)) return null;
      throw new CliError(EXIT.HOST_COMMAND, `ifconfig ${name} failed`, undefined, result.stderr.trim());
    }
    return parseIfconfig(result.stdout);
  }

  /** Every bridge with its member interfaces, from `ifconfig -a`. */
  async bridges(): Promise<Map<string, string[]>> {
    return parseBridgeMembers(await this.all());
  }

  /** Every interface with its IPv4 addresses and prefixes, from `ifconfig -a`. */
  async interfaces(): Promise<HostInterface[]> {
    return parseInterfaces(await this.all());
  }

  private async all(): Promise<string> {
    const result = await this.runner.run("ifconfig", ["-a"]);
    if (result.exitCode !== 0) throw new CliError(EXIT.HOST_COMMAND, "ifconfig -a failed", undefined, result.stderr.trim());
    return result.stdout;
  }
}

/** `ifconfig -a`: a block per interface from its column-0 header; `inet A netmask 0xffffff00 …` lines. */
export function parseInterfaces(stdout: string): HostInterface[] {
  const found: HostInterface[] = [];
  let current: HostInterface | null = null;
  for (const line of stdout.split("\n")) {
    const header = /^([a-z][a-z0-9]*): flags=/.exec(line);
    if (header) {
      current = { name: header[1]!, ipv4: [] };
      found.push(current);
      continue;
    }
    const inet = /^\s+inet (\S+) netmask (0x[0-9a-f]{8})\b/.exec(line);
    const address = inet ? parseIpv4Address(inet[1]!) : null;
    if (current && address) current.ipv4.push({ address, prefix: prefixOf(Number.parseInt(inet![2]!, 16)) });
  }
  return found;
}

/** The prefix length of a contiguous netmask (0xffffff00 → 24); a non-contiguous one counts its leading ones. */
function prefixOf(mask: number): number {
  let prefix = 0;
  while (prefix < 32 && ((mask >>> (31 - prefix)) & 1) === 1) prefix++;
  return prefix;
}

/** `ifconfig -a`: each interface block starts at column 0; a bridge's members are indented `member:` lines. */
export function parseBridgeMembers(stdout: string): Map<string, string[]> {
  const bridges = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of stdout.split("\n")) {
    const header = /^([a-z][a-z0-9]*): flags=/.exec(line);
    if (header) {
      current = header[1]!.startsWith("bridge") ? [] : null;
      if (current) bridges.set(header[1]!, current);
      continue;
    }
    const member = /^\s+member: ([a-z][a-z0-9]*) /.exec(line);
    if (member && current) current.push(member[1]!);
  }
  return bridges;
}

export function parseIfconfig(stdout: string): InterfaceState | null {
  const [first, ...rest] = stdout.split("\n");
  const header = /^([a-z][a-z0-9]*): flags=[0-9a-f]+<([A-Z0-9_,]*)>/.exec(first ?? "");
  if (!header) return null;
  const flags = header[2]!.split(",");
  const status = rest.map((l) => /^\s*status:\s*(\S+)/.exec(l)?.[1]).find(Boolean);
  const ipv4: Ipv4Address[] = [];
  for (const line of rest) {
    const address = parseIpv4Address(/^\s*inet (\S+)/.exec(line)?.[1] ?? "");
    if (address) ipv4.push(address);
  }
  return { name: header[1]!, up: flags.includes("UP"), active: flags.includes("RUNNING") && (status === undefined || status === "active"), ipv4 };
}
