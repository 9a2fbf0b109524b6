// What LimaWAN asks of a running guest, through `limactl shell --workdir / INST …` as the VMs'
// owner (Lima refuses root, LIMA-FACTS.md §9; `--workdir /` avoids the cwd-mount warning, §5).
// Lima's guests give the Lima user passwordless sudo, so what needs root inside is `sudo …`.
// Each tool's output is parsed here: iproute2's JSON (`ip -j`), ss's columns, sshd -T.
import { parseIpv4Address } from "../../compiler/validate/addresses.js";
import type { Ipv4Address } from "../../compiler/ir.js";
import { CliError, EXIT } from "../errors.js";
import type { CommandResult, Runner } from "./run.js";

/** A guest command that fails or times out is reported, never waited on for long. */
const GUEST_TIMEOUT_MS = 20_000;

export interface GuestRoute { dev: string; gateway: string | null; metric: number }
/**
 * A listening TCP or bound UDP socket in the guest, as facts: which family it takes connections
 * of (`any`: an IPv6 socket that accepts IPv4 too), bound to every address (`wildcard`) or to
 * loopback only, the host part without brackets or zone (`host`), and the local address as ss
 * wrote it (`address`, to show).
 */
export interface GuestSocket { protocol: "tcp" | "udp"; family: "ipv4" | "ipv6" | "any"; wildcard: boolean; loopback: boolean; host: string; address: string; port: number }

export class LimaGuest {
  constructor(private readonly runner: Runner) {}

  /** A query inside the guest: runs even in dry-run. */
  run(instance: string, argv: readonly string[], input?: string): Promise<CommandResult> {
    return this.runner.run("limactl", shellArgs(instance, argv), { asUser: true, timeoutMs: GUEST_TIMEOUT_MS, ...(input === undefined ? {} : { input }) });
  }

  /** A change inside the guest: shown, not made, in dry-run. */
  change(instance: string, argv: readonly string[], input?: string): Promise<CommandResult> {
    return this.runner.change("limactl", shellArgs(instance, argv), { asUser: true, timeoutMs: GUEST_TIMEOUT_MS, ...(input === undefined ? {} : { input }) });
  }

  /** The IPv4 addresses of a guest interface (`ip -4 -j addr show dev IF`); [] when it has none. */
  async ipv4Addresses(instance: string, device: string): Promise<Ipv4Address[]> {
    const result = await this.expectOk(instance, ["ip", "-4", "-j", "addr", "show", "dev", device]);
    return parseIpAddrsJson(result.stdout);
  }

  /** The guest's default routes, the one in use first (`ip -4 -j route show default`). */
  async defaultRoutes(instance: string): Promise<GuestRoute[]> {
    return parseRoutesJson((await this.expectOk(instance, ["ip", "-4", "-j", "route", "show", "default"])).stdout);
  }

  /** Listening TCP sockets and bound UDP sockets (`ss -Hltun`), as the user (no process names needed). */
  async listeningSockets(instance: string): Promise<GuestSocket[]> {
    return parseSsListening((await this.expectOk(instance, ["ss", "-Hltun"])).stdout);
  }

  /** The Lima user inside the guest (`id -un`), and their home (`getent passwd`). */
  async user(instance: string): Promise<{ name: string; home: string }> {
    const name = (await this.expectOk(instance, ["id", "-un"])).stdout.trim();
    const entry = (await this.expectOk(instance, ["getent", "passwd", name])).stdout.trim().split(":");
    if (entry.length < 7 || !entry[5]!.startsWith("/")) throw new CliError(EXIT.HOST_COMMAND, `cannot tell ${name}'s home in ${instance}`, undefined, entry.join(":"));
    return { name, home: entry[5]! };
  }

  /** A file's text, read as root (`sudo cat`); null when it does not exist. */
  async readFile(instance: string, file: string): Promise<string | null> {
    const result = await this.run(instance, ["sudo", "cat", "--", file]);
    if (result.exitCode === 0) return result.stdout;
    if (/No such file or directory/.test(result.stderr)) return null;
    throw guestFailed(instance, ["sudo", "cat", "--", file], result);
  }

  /** Does the guest have this file (or program)? */
  async exists(instance: string, file: string): Promise<boolean> {
    return (await this.run(instance, ["test", "-e", file])).exitCode === 0;
  }

  /**
   * Replace a file as root, whole: written beside it, then renamed over it, so an interrupted
   * write never leaves sshd half a configuration.
   */
  async writeFile(instance: string, file: string, text: string, mode = "644"): Promise<void> {
    const temporary = `${file}.limawan-new`;
    await this.changeOk(instance, ["sudo", "install", "-D", "-m", mode, "/dev/stdin", temporary], text);
    await this.changeOk(instance, ["sudo", "mv", "-f", temporary, file]);
  }

  async removeFile(instance: string, file: string, recursive = false): Promise<void> {
    await this.changeOk(instance, ["sudo", "rm", recursive ? "-rf" : "-f", file]);
  }

  /** `sudo sshd -t`: null when sshd accepts its configuration, else what it says. */
  async sshdCheck(instance: string): Promise<string | null> {
    const argv = ["sudo", "sshd", "-t"];
    const result = await this.run(instance, argv);
    return result.exitCode === 0 ? null : rejection(instance, argv, result);
  }

  /**
   * `sudo sshd -T`: the effective settings, keyword (lower case) → value; or, when sshd rejects
   * its configuration (-T checks it as -t does, sshd(8)), what it says.
   */
  async sshdEffective(instance: string): Promise<{ settings: Map<string, string> } | { rejected: string }> {
    const argv = ["sudo", "sshd", "-T"];
    const result = await this.run(instance, argv);
    if (result.exitCode !== 0) return { rejected: rejection(instance, argv, result) };
    return { settings: new Map(result.stdout.split("\n").filter((l) => l.includes(" ")).map((l) => [l.slice(0, l.indexOf(" ")).toLowerCase(), l.slice(l.indexOf(" ") + 1).trim()])) };
  }

  /** `sudo systemctl VERB UNIT`; throws with systemctl's message when it fails. */
  async systemctl(instance: string, verb: string, unit: string): Promise<void> {
    await this.changeOk(instance, ["sudo", "systemctl", verb, unit]);
  }

  private async changeOk(instance: string, argv: readonly string[], input?: string): Promise<CommandResult> {
    const result = await this.change(instance, argv, input);
    if (result.exitCode !== 0) throw guestFailed(instance, argv, result);
    return result;
  }

  private async expectOk(instance: string, argv: readonly string[]): Promise<CommandResult> {
    const result = await this.run(instance, argv);
    if (result.exitCode !== 0) throw guestFailed(instance, argv, result);
    return result;
  }
}

export function shellArgs(instance: string, argv: readonly string[]): string[] {
  return ["shell", "--workdir", "/", instance, ...argv];
}

export function guestFailed(instance: string, argv: readonly string[], result: CommandResult): CliError {
  const detail = result.stderr.split("\n").filter((l) => l.trim() && !/Non-strict YAML/.test(l)).slice(-5).join("\n");
  return new CliError(EXIT.HOST_COMMAND, `\`${argv.join(" ")}\` failed in ${instance} (exit ${result.exitCode})`, undefined, detail);
}

/** What sshd said when it refused its configuration (its last lines), or its exit status. */
function rejection(instance: string, argv: readonly string[], result: CommandResult): string {
  return guestFailed(instance, argv, result).detail || `${argv.slice(1).join(" ")} exited with ${result.exitCode}`;
}

/** `ip -4 -j addr show dev IF` → every inet address (iproute2 prints `[]`, or `[{}]` on some versions, for none). */
export function parseIpAddrsJson(stdout: string): Ipv4Address[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new CliError(EXIT.HOST_COMMAND, "`ip -j addr` printed something that is not JSON", undefined, stdout.slice(0, 200));
  }
  const addresses: Ipv4Address[] = [];
  for (const link of Array.isArray(parsed) ? (parsed as Array<{ addr_info?: Array<{ family?: string; local?: string }> }>) : []) {
    for (const info of link?.addr_info ?? []) {
      const address = info.family === undefined || info.family === "inet" ? parseIpv4Address(info.local ?? "") : null;
      if (address) addresses.push(address);
    }
  }
  return addresses;
}

/** `ip -4 -j route show default` → routes, lowest metric first (the one the kernel uses). */
export function parseRoutesJson(stdout: string): GuestRoute[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new CliError(EXIT.HOST_COMMAND, "`ip -j route` printed something that is not JSON", undefined, stdout.slice(0, 200));
  }
  const routes: GuestRoute[] = [];
  for (const r of Array.isArray(parsed) ? (parsed as Array<{ dst?: string; dev?: string; gateway?: string; metric?: number }>) : []) {
    if (r?.dst !== "default" || typeof r.dev !== "string") continue;
    routes.push({ dev: r.dev, gateway: typeof r.gateway === "string" ? r.gateway : null, metric: typeof r.metric === "number" ? r.metric : 0 });
  }
  return routes.sort((a, b) => a.metric - b.metric);
}

/**
 * `ss -Hltun`: `Netid State Recv-Q Send-Q Local:Port Peer:Port [Process]`. The local address is
 * `0.0.0.0`, `*` (IPv6 any, accepting IPv4 too: ss(8) prints `*` for a dual-stack wildcard),
 * `[::]` (IPv6 only), an address (IPv6 in brackets), or one scoped to a device (`127.0.0.53%lo`).
 */
export function parseSsListening(stdout: string): GuestSocket[] {
  const sockets: GuestSocket[] = [];
  for (const line of stdout.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5) continue;
    const netid = fields[0]!;
    if (netid !== "tcp" && netid !== "udp") continue;
    const local = fields[4]!;
    const colon = local.lastIndexOf(":");
    const port = Number(local.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port)) continue;
    sockets.push({ protocol: netid, ...socketAddress(local.slice(0, colon)), port });
  }
  return sockets;
}

/** ss's local address → the facts diagnose judges by (GuestSocket). */
function socketAddress(address: string): Pick<GuestSocket, "family" | "wildcard" | "loopback" | "host" | "address"> {
  const unscoped = address.replace(/%[^\]]*$/, "").replace(/%[^\]]*\]$/, "]");
  if (unscoped === "*") return { family: "any", wildcard: true, loopback: false, host: "*", address };
  const ipv6 = unscoped.startsWith("[") && unscoped.endsWith("]");
  const host = ipv6 ? unscoped.slice(1, -1) : unscoped;
  if (ipv6) return { family: "ipv6", wildcard: host === "::", loopback: host === "::1", host, address };
  return { family: "ipv4", wildcard: host === "0.0.0.0", loopback: host.startsWith("127."), host, address };
}
