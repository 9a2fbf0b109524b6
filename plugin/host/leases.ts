// macOS bootpd's /var/db/dhcpd_leases: `{ name= ip_address= hw_address=1,<mac> … lease=0x… }`
// blocks, MAC octets written without leading zeros (LIMA-FACTS.md §5). The file is the only
// record of a vmnet guest's address that the guest itself cannot forge.
import { crypto } from "./lazy-builtins.js";
import { watch as fsWatch } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Ipv4Address } from "../../compiler/ir.js";
import { parseIpv4Address } from "../../compiler/validate/addresses.js";

export interface Lease { name: string | null; address: Ipv4Address; mac: string; expires: number }

export class Leases {
  constructor(readonly file: string) {}

  /** Every lease, or null when there is no lease file yet (no vmnet VM ever started). */
  async read(): Promise<Lease[] | null> {
    const text = await readFile(this.file, "utf8").catch(() => null);
    return text === null ? null : parseLeases(text);
  }

  /**
   * Calls `onChange` when the file's content changes. bootpd replaces the file, so the watch
   * is on its directory, not the inode. Returns a closer, or null when the directory cannot
   * be watched (the caller falls back to polling).
   */
  async watch(onChange: () => void): Promise<(() => void) | null> {
    let last = await this.contentHash();
    const check = async () => {
      const now = await this.contentHash();
      if (now !== last) {
        last = now;
        onChange();
      }
    };
    try {
      const watcher = fsWatch(path.dirname(this.file), (_event, name) => {
        if (name === null || name === path.basename(this.file)) void check();
      });
      watcher.on("error", () => undefined);
      return () => watcher.close();
    } catch {
      return null;
    }
  }

  private async contentHash(): Promise<string> {
    return crypto().createHash("sha256").update(await readFile(this.file, "utf8").catch(() => "")).digest("hex");
  }
}

export function parseLeases(text: string): Lease[] {
  const leases: Lease[] = [];
  for (const block of text.split("{").slice(1)) {
    const body = block.split("}")[0] ?? "";
    const fields = new Map<string, string>();
    for (const line of body.split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) fields.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    }
    const address = parseIpv4Address(fields.get("ip_address") ?? "");
    const hw = fields.get("hw_address") ?? "";
    const mac = normaliseMac(hw.includes(",") ? hw.slice(hw.indexOf(",") + 1) : hw);
    if (!address || !mac) continue;
    const expires = Number.parseInt(fields.get("lease") ?? "0", 16);
    leases.push({ name: fields.get("name") ?? null, address, mac, expires: Number.isFinite(expires) ? expires : 0 });
  }
  return leases;
}

/** `52:55:55:0a:07:e1` and `52:55:55:a:7:e1` both become `52:55:55:a:7:e1`. */
export function normaliseMac(text: string): string | null {
  const octets = text.trim().toLowerCase().split(":");
  if (octets.length !== 6 || !octets.every((o) => /^[0-9a-f]{1,2}$/.test(o))) return null;
  return octets.map((o) => Number.parseInt(o, 16).toString(16)).join(":");
}

/** The newest lease for a MAC (bootpd keeps old blocks around after an address change). */
export function addressForMac(leases: readonly Lease[], mac: string): Ipv4Address | null {
  const wanted = normaliseMac(mac);
  if (!wanted) return null;
  let best: Lease | null = null;
  for (const lease of leases) if (lease.mac === wanted && (!best || lease.expires >= best.expires)) best = lease;
  return best?.address ?? null;
}
