// route adapter: the default route's interface (`route -n get default`), the WAN side by default.
import type { InterfaceName } from "../../compiler/ir.js";
import { isInterfaceName } from "../../compiler/validate/interfaces.js";
import type { Runner } from "./run.js";

export class Route {
  constructor(private readonly runner: Runner) {}

  async defaultInterface(): Promise<InterfaceName | null> {
    let result;
    try {
      result = await this.runner.run("route", ["-n", "get", "default"]);
    } catch {
      return null; // no `route` (Linux dev box): the caller asks for --interface
    }
    if (result.exitCode !== 0) return null;
    return parseRouteGet(result.stdout);
  }
}

export function parseRouteGet(stdout: string): InterfaceName | null {
  for (const line of stdout.split("\n")) {
    const [key, value] = line.split(":").map((s) => s.trim());
    if (key === "interface" && value && isInterfaceName(value)) return value;
  }
  return null;
}
