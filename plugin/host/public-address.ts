// The Mac's address as the internet sees it, for `diagnose --external`: one HTTPS GET to a
// what-is-my-IP service answering with the address as plain text. Only that command asks, and
// only when told to: it tells a third party this Mac exists. LIMAWAN_PUBLIC_ADDRESS_URL points
// it elsewhere (the tests at a server of their own; they never reach the internet).
import { parseIpv4Address } from "../../compiler/validate/addresses.js";
import type { Ipv4Address } from "../../compiler/ir.js";
import { CliError, EXIT } from "../errors.js";

const TIMEOUT_MS = 5_000;

export class PublicAddress {
  constructor(readonly url: string) {}

  async lookup(): Promise<Ipv4Address> {
    let body: string;
    try {
      const response = await fetch(this.url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "follow" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = (await response.text()).slice(0, 200);
    } catch (error) {
      const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      throw new CliError(EXIT.HOST_COMMAND, `could not ask ${this.url} for the public address: ${reason}`);
    }
    const address = parseIpv4Address(body.trim());
    if (!address) throw new CliError(EXIT.HOST_COMMAND, `${this.url} did not answer with an IPv4 address`, undefined, body.trim().slice(0, 80));
    return address;
  }
}
