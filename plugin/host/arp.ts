// arp adapter (read-only): which MAC the Mac's ARP table gives an address, from `arp -n ADDR`.
// macOS prints (Apple's network_cmds arp.c, as FreeBSD's usr.sbin/arp/arp.c): `? (A) at
// 52:55:55:a:b:c on en0 ifscope [ethernet]` — octets without leading zeros —, `? (A) at
// (incomplete) on en0 …` while it is still asking, and `A (A) -- no entry` (exit 1) when it has
// none. Only a complete entry is an answer.
import type { Ipv4Address } from "../../compiler/ir.js";
import { CliError, EXIT } from "../errors.js";
import { normaliseMac } from "./leases.js";
import type { Runner } from "./run.js";

export class Arp {
  constructor(private readonly runner: Runner) {}

  /** The MAC the ARP table maps `address` to (normalised), or null when it has no complete entry. */
  async macFor(address: Ipv4Address): Promise<string | null> {
    const result = await this.runner.run("arp", ["-n", address]);
    if (result.exitCode !== 0) {
      if (/-- no entry/.test(result.stdout + result.stderr)) return null;
      throw new CliError(EXIT.HOST_COMMAND, `arp -n ${address} failed`, undefined, result.stderr.trim());
    }
    return parseArpEntry(result.stdout, address);
  }
}

export function parseArpEntry(stdout: string, address: string): string | null {
  for (const line of stdout.split("\n")) {
    const m = /^\S+ \(([0-9.]+)\) at (\S+) on /.exec(line);
    if (m && m[1] === address) return normaliseMac(m[2]!);
  }
  return null;
}
