// sysctl adapter: IP forwarding, which PF needs to move rdr'd packets to the VM's bridge
// (PF-FACTS.md §4).
import { CliError, EXIT } from "../errors.js";
import type { Runner } from "./run.js";

export const IP_FORWARDING = "net.inet.ip.forwarding";

export class Sysctl {
  constructor(private readonly runner: Runner) {}

  async get(name: string): Promise<string> {
    const result = await this.runner.run("sysctl", ["-n", name]);
    if (result.exitCode !== 0) throw new CliError(EXIT.HOST_COMMAND, `sysctl could not read ${name}`, undefined, result.stderr.trim());
    return result.stdout.trim();
  }

  async set(name: string, value: string): Promise<void> {
    const result = await this.runner.change("sysctl", ["-w", `${name}=${value}`]);
    if (result.exitCode !== 0) throw new CliError(EXIT.HOST_COMMAND, `sysctl could not set ${name}=${value}`, undefined, result.stderr.trim());
  }
}
