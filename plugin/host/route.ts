// route adapter: the default route's interface (`route -n get default`), the WAN side by default,
// and its gateway (the router that port mappings are asked of).
import type { InterfaceName, Ipv4Address } from "../../compiler/ir.js";
import { parseIpv4Address } from "../../compiler/validate/addresses.js";
import { isInterfaceName } from "../../compiler/validate/interfaces.js";
import type { Runner } from "./run.js";

export class Route {
  constructor(private readonly runner: Runner) {}

  async defaultInterface(): Promise<InterfaceName | null> {
    return (await this.defaultRoute())?.interface ?? null;
  }

  /** The default route: its interface, and its gateway when that is an IPv4 address (not `link#4`, a point-to-point link). */
  async defaultRoute(): Promise<DefaultRoute | null> {
    let result;
    try {
      result = await this.runner.run("route", ["-n", "get", "default"]);
    } catch {
      return null; // no `route` (Linux dev box): the caller asks for --interface
    }
    if (result.exitCode !== 0) return null;
    return parseDefaultRoute(result.stdout);
  }
}

export interface DefaultRoute { interface: InterfaceName; gateway: Ipv4Address | null }

export function parseDefaultRoute(stdout: string): DefaultRoute | null {
  const found = parseRouteGet(stdout);
  if (!found) return null;
  let gateway: Ipv4Address | null = null;
  for (const line of stdout.split("\n")) {
    const [key, value] = line.split(":").map((s) => s.trim());
    if (key === "gateway" && value) gateway = parseIpv4Address(value);
  }
  return { interface: found, gateway };
}

export function parseRouteGet(stdout: string): InterfaceName | null {
  for (const line of stdout.split("\n")) {
    const [key, value] = line.split(":").map((s) => s.trim());
    if (key === "interface" && value && isInterfaceName(value)) return value;
  }
  return null;
}
