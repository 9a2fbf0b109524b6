// The Mac's address as the internet sees it, for `diagnose --external`: one HTTPS GET to a
// what-is-my-IP service answering with the address as plain text. Only that command asks, and
// only when told to: it tells a third party this Mac exists. LIMAWAN_PUBLIC_ADDRESS_URL points
// it elsewhere (the tests at a server of their own; they never reach the internet). That name
// reaches root through the sudoers rule, so the answer is hostile: http(s) only, no redirect
// followed, at most ANSWER_LIMIT_BYTES read within TIMEOUT_MS, and only an IPv4 address used.
import { parseIpv4Address } from "../../compiler/validate/addresses.js";
import type { Ipv4Address } from "../../compiler/ir.js";
import { CliError, EXIT } from "../errors.js";

const TIMEOUT_MS = 5_000;
/** "203.0.113.7\n" is 12 bytes; a service that says more is not answering the question. */
export const ANSWER_LIMIT_BYTES = 1024;

export class PublicAddress {
  constructor(readonly url: string) {}

  async lookup(): Promise<Ipv4Address> {
    const body = await this.fetchAnswer();
    const address = parseIpv4Address(body.trim());
    if (!address) throw new CliError(EXIT.HOST_COMMAND, `${this.url} did not answer with an IPv4 address`, undefined, body.trim().slice(0, 80));
    return address;
  }

  private async fetchAnswer(): Promise<string> {
    if (!/^https?:\/\//i.test(this.url)) {
      throw new CliError(EXIT.USAGE, `LIMAWAN_PUBLIC_ADDRESS_URL must be an http:// or https:// URL, not ${this.url}`);
    }
    try {
      const signal = AbortSignal.timeout(TIMEOUT_MS);
      const response = await fetch(this.url, { signal, redirect: "manual" });
      if (response.status >= 300 && response.status < 400) {
        throw new Error(`it redirects (HTTP ${response.status}) to ${response.headers.get("location") ?? "nowhere"}; name that URL itself`);
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return await readBounded(response, ANSWER_LIMIT_BYTES);
    } catch (error) {
      const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      throw new CliError(EXIT.HOST_COMMAND, `could not ask ${this.url} for the public address: ${reason}`);
    }
  }
}

/** The response body up to `limit` bytes; past it the rest is not read (the stream is cancelled). */
async function readBounded(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw new Error(`it answered with more than ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
