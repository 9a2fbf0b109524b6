// launchd adapter: the watch daemon's plist (built with the plist library, not a string
// template), where it lives, and launchctl bootstrap/bootout/print in the system domain.
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { CliError, EXIT } from "../errors.js";
import type { Runner } from "./run.js";
import { writeAtomic } from "./atomic-write.js";

export const DAEMON_LABEL = "dev.limawan.watch";

export interface DaemonPlistInput {
  /**
   * The root-owned launcher (host/root-copy.ts), run directly: limactl forwards no signals, and
   * launchd's PATH has no Homebrew for `#!/usr/bin/env node`.
   */
  launcher: string;
  environment: Record<string, string>;
  logFile: string;
}

export interface DaemonStatus { installed: boolean; loaded: boolean; plist: string; log: string }

export async function daemonPlist(input: DaemonPlistInput): Promise<string> {
  const { default: plist } = await import("plist"); // only install needs it: ~380 KB of XML code
  return plist.build({
    Label: DAEMON_LABEL,
    ProgramArguments: [input.launcher, "watch"],
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
  /** The daemon's plist in the launchd directory. */
  readonly plistFile: string;
  /** The daemon's log, beside LimaWAN's state. */
  readonly logFile: string;

  constructor(private readonly runner: Runner, launchdDir: string, stateDir: string) {
    this.plistFile = path.join(launchdDir, `${DAEMON_LABEL}.plist`);
    this.logFile = path.join(stateDir, "watch.log");
  }

  /** Whether the daemon's plist is in the launchd directory (installed, loaded or not). */
  plistInstalled(): boolean {
    return existsSync(this.plistFile);
  }

  async status(): Promise<DaemonStatus> {
    const installed = this.plistInstalled();
    return { installed, loaded: installed && (await this.loaded()), plist: this.plistFile, log: this.logFile };
  }

  async loaded(): Promise<boolean> {
    const result = await this.runner.run("launchctl", ["print", `system/${DAEMON_LABEL}`]);
    return result.exitCode === 0;
  }

  /** Write the plist (dry-run: show it), then (re)load it. */
  async install(text: string): Promise<void> {
    if (this.runner.dryRun) this.runner.noteWrite(this.plistFile, text);
    else await writeAtomic(this.plistFile, text, { mode: 0o644 });
    if (await this.loaded()) await this.bootout();
    const result = await this.runner.change("launchctl", ["bootstrap", "system", this.plistFile]);
    if (result.exitCode !== 0) {
      throw new CliError(EXIT.HOST_COMMAND, `launchctl could not load ${this.plistFile}`, `See \`launchctl print system/${DAEMON_LABEL}\`.`, result.stderr.trim() || result.stdout.trim());
    }
  }

  /** Stop and unload the daemon and remove its plist; returns false when there was none. */
  async uninstall(): Promise<boolean> {
    if (!existsSync(this.plistFile) && !(await this.loaded())) return false;
    await this.bootout();
    if (this.runner.dryRun) this.runner.report(`would remove ${this.plistFile}`);
    else await rm(this.plistFile, { force: true });
    return true;
  }

  /** Stop and unload; not loaded is fine. */
  private async bootout(): Promise<void> {
    await this.runner.change("launchctl", ["bootout", `system/${DAEMON_LABEL}`]);
  }
}
