// launchd adapter: the watch daemon's plist (built with the plist library, not a string
// template) and launchctl bootstrap/bootout/print in the system domain.
import plist from "plist";
import type { Runner } from "./run.js";

export const DAEMON_LABEL = "dev.limawan.watch";

export interface DaemonPlistInput {
  /** Absolute node binary: launchd's PATH has no Homebrew, so `#!/usr/bin/env node` would fail. */
  node: string;
  /** Absolute path of the limactl-limawan script; run directly, since limactl forwards no signals. */
  program: string;
  environment: Record<string, string>;
  logFile: string;
}

export function daemonPlist(input: DaemonPlistInput): string {
  return plist.build({
    Label: DAEMON_LABEL,
    ProgramArguments: [input.node, input.program, "watch"],
    EnvironmentVariables: input.environment,
    RunAtLoad: true,
    // Restart after a crash, not after a clean exit (SIGTERM at shutdown).
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: 10,
    ProcessType: "Background",
    StandardOutPath: input.logFile,
    StandardErrorPath: input.logFile,
  });
}

export class Launchd {
  constructor(private readonly runner: Runner) {}

  async loaded(): Promise<boolean> {
    const result = await this.runner.run("launchctl", ["print", `system/${DAEMON_LABEL}`]);
    return result.exitCode === 0;
  }

  async bootstrap(plistFile: string): Promise<{ ok: boolean; message: string }> {
    const result = await this.runner.change("launchctl", ["bootstrap", "system", plistFile]);
    return { ok: result.exitCode === 0, message: result.stderr.trim() || result.stdout.trim() };
  }

  /** Stop and unload; not loaded is fine. */
  async bootout(): Promise<void> {
    await this.runner.change("launchctl", ["bootout", `system/${DAEMON_LABEL}`]);
  }
}
