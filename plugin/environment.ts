// The one place that knows every path and environment name of the contract
// (docs/DESIGN.md "Host access"): tests and users point them elsewhere the same way.
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CliError, EXIT } from "./errors.js";
import { untrustedPaths } from "./host/trust.js";

/** The LIMAWAN_* overrides of the contract's paths and platform (DESIGN.md "Host access"). */
export const OVERRIDE_NAMES = ["LIMAWAN_PF_CONF", "LIMAWAN_STATE_DIR", "LIMAWAN_DHCPD_LEASES", "LIMAWAN_LAUNCHD_DIR", "LIMAWAN_LIBEXEC_DIR", "LIMAWAN_PLATFORM"] as const;

/**
 * What a command re-run through sudo must still see, though sudo's env_reset drops it: the
 * user's Lima, the overrides, the user's PATH (to find limactl, which runs as the user), and
 * colour choices. Passed as `--env NAME=VALUE` arguments, never through sudo's environment:
 * a sudo rule allowing `VAR=value` (SETENV) would let a user hand root NODE_OPTIONS too.
 */
export const PASSED_TO_ROOT = ["LIMA_HOME", ...OVERRIDE_NAMES, "LIMAWAN_WATCH_INTERVAL_MS", "LIMAWAN_INVOKER_PATH", "LIMAWAN_INVOKER_PID", "LIMAWAN_PUBLIC_ADDRESS_URL", "NO_COLOR", "FORCE_COLOR"] as const;

/** Where `diagnose --external` asks for the Mac's public address (LIMAWAN_PUBLIC_ADDRESS_URL). */
export const DEFAULT_PUBLIC_ADDRESS_URL = "https://api.ipify.org";

export interface Paths {
  limaHome: string;
  pfConf: string;
  stateDir: string;
  dhcpdLeases: string;
  launchdDir: string;
  /** The root-owned copy of LimaWAN that root runs (host/root-copy.ts). */
  libexecDir: string;
}

export interface Environment {
  env: NodeJS.ProcessEnv;
  platform: string;
  paths: Paths;
  /** The user who ran sudo, when we are root through sudo: Lima runs as them, never as root. */
  invokingUser: { name: string; uid: number; gid: number; home: string } | null;
  isRoot: boolean;
  /** The watcher's safety-net reconcile period (LIMAWAN_WATCH_INTERVAL_MS; default 30 s). */
  watchIntervalMs: number;
  /** What `diagnose --external` asks for the public address (plain-text answer). */
  publicAddressUrl: string;
  /**
   * The process that ran the user's side of a sudo re-run (LIMAWAN_INVOKER_PID: limactl, or the
   * shell): `watch` and `monitor --follow` stop when it is gone (host/invoker.ts).
   */
  invokerPid: number | null;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  const platform = env.LIMAWAN_PLATFORM || process.platform;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const invokingUser = isRoot ? sudoUser(env, platform) : null;
  const home = invokingUser?.home ?? os.homedir();
  return {
    env,
    platform,
    isRoot,
    invokingUser,
    watchIntervalMs: Number(env.LIMAWAN_WATCH_INTERVAL_MS) > 0 ? Number(env.LIMAWAN_WATCH_INTERVAL_MS) : 30_000,
    publicAddressUrl: env.LIMAWAN_PUBLIC_ADDRESS_URL || DEFAULT_PUBLIC_ADDRESS_URL,
    invokerPid: /^[1-9]\d{0,9}$/.test(env.LIMAWAN_INVOKER_PID ?? "") ? Number(env.LIMAWAN_INVOKER_PID) : null,
    paths: {
      limaHome: env.LIMA_HOME || path.join(home, ".lima"),
      pfConf: env.LIMAWAN_PF_CONF || "/etc/pf.conf",
      stateDir: env.LIMAWAN_STATE_DIR || "/var/db/limawan",
      dhcpdLeases: env.LIMAWAN_DHCPD_LEASES || "/var/db/dhcpd_leases",
      launchdDir: env.LIMAWAN_LAUNCHD_DIR || "/Library/LaunchDaemons",
      libexecDir: env.LIMAWAN_LIBEXEC_DIR || "/opt/limawan",
    },
  };
}

function sudoUser(env: NodeJS.ProcessEnv, platform: string): Environment["invokingUser"] {
  const name = env.SUDO_USER;
  const uid = Number(env.SUDO_UID);
  const gid = Number(env.SUDO_GID);
  if (!name || name === "root" || !Number.isInteger(uid) || !Number.isInteger(gid)) return null;
  // sudo may keep root's HOME; the user's Lima lives in their own home.
  const candidates = platform === "darwin" ? [`/Users/${name}`] : [`/home/${name}`, `/Users/${name}`];
  const home = candidates.find((dir) => existsSync(dir)) ?? candidates[0]!;
  return { name, uid, gid, home };
}

/** The paths root reads or writes (LIMA_HOME is the user's), with the names messages give them. */
export const ROOT_PATHS = { stateDir: "state dir", pfConf: "pf.conf", launchdDir: "launchd dir", dhcpdLeases: "DHCP leases", libexecDir: "root's copy" } as const;
export type RootPaths = Pick<Paths, keyof typeof ROOT_PATHS>;

/** Those paths by name: each must be root's alone, all the way up (doctor checks them too). */
export function rootOwnedPaths(paths: RootPaths): Record<string, string> {
  return Object.fromEntries(Object.entries(ROOT_PATHS).map(([key, name]) => [name, paths[key as keyof RootPaths]]));
}

/** Host-changing commands: macOS, and root (main.ts raises privileges through sudo first). */
export function requireHostAccess(environment: Environment, command: string, options: { dryRun: boolean }): void {
  if (environment.platform !== "darwin") {
    throw new CliError(
      EXIT.ENVIRONMENT,
      `\`${command}\` changes macOS PF and runs only on macOS (this is ${environment.platform})`,
      "Use `limactl limawan plan` to see the rules anywhere.",
      undefined,
      null,
      "not-macos",
    );
  }
  if (!options.dryRun && !environment.isRoot) {
    // Only reachable when main.ts did not re-run the command through sudo.
    throw new CliError(EXIT.ENVIRONMENT, `\`${command}\` changes PF and needs root`, "Add --dry-run to see what it would do.", undefined, null, "needs-root");
  }
  if (environment.isRoot) {
    const problems = untrustedPaths(rootOwnedPaths(environment.paths));
    if (problems.length > 0) {
      throw new CliError(EXIT.ENVIRONMENT, `refusing to act as root on paths a user could change: ${problems.join("; ")}`, "Point LIMAWAN_* at root-owned paths (or leave them unset for the system's).", undefined, null, "unsafe-path");
    }
  }
}
