// `install` / `uninstall`: the launchd daemon that runs `watch` at boot for the invoking
// user's LIMA_HOME, plus the PF anchor points in pf.conf. `uninstall` removes both, every
// LimaWAN rule, and restores IP forwarding if LimaWAN turned it on.
import { fileURLToPath } from "node:url";
import type { Context } from "../context.js";
import { installPfConf, removeEverything } from "../engine/installation.js";
import { OVERRIDE_NAMES, requireHostAccess } from "../environment.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { daemonPlist, DAEMON_LABEL } from "../host/launchd.js";

const SYSTEM_PATH = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/** The environment the daemon needs to find the same Lima, tools and paths as this command. */
function daemonEnvironment(ctx: Context): Record<string, string> {
  const { env, paths, invokingUser } = ctx.environment;
  const out: Record<string, string> = {
    LIMA_HOME: paths.limaHome,
    // The system's directories first: the daemon runs as root, and a user-writable directory
    // (Homebrew's) ahead of /sbin would let anyone who can write there replace pfctl or sysctl.
    // The invoking user's PATH follows, for limactl.
    PATH: [...new Set([...SYSTEM_PATH, ...(env.PATH ?? "").split(":").filter(Boolean)])].join(":"),
  };
  if (invokingUser) {
    // Read back by plugin/environment.ts: Lima is run as this user, never as root.
    Object.assign(out, { SUDO_USER: invokingUser.name, SUDO_UID: String(invokingUser.uid), SUDO_GID: String(invokingUser.gid) });
  }
  for (const name of OVERRIDE_NAMES) {
    if (env[name]) out[name] = env[name]!;
  }
  return out;
}

export async function install(ctx: Context): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "install", { dryRun: ctx.dryRun });
  const { host, out } = ctx;
  // The daemon runs Lima as this user: Lima (2.1+) refuses to run as root.
  if (!ctx.environment.invokingUser && !ctx.dryRun) {
    throw new CliError(EXIT.ENVIRONMENT, "cannot tell whose Lima VMs to watch", "Run `limactl limawan install` as the user who owns the VMs (not from a root shell).");
  }
  const changed = await installPfConf(host, out);
  out.info(changed ? `added the limawan anchor points to ${host.pfConf.file}` : `${host.pfConf.file} already has the limawan anchor points`);

  const program = fileURLToPath(new URL("../../../plugin/bin/limactl-limawan", import.meta.url));
  await host.launchd.install(await daemonPlist({ node: process.execPath, program, environment: daemonEnvironment(ctx), logFile: host.launchd.logFile }));
  out.info(`${ctx.dryRun ? "would install" : "installed"} the watch daemon ${DAEMON_LABEL} (log: ${host.launchd.logFile})`);
  return EXIT.OK;
}

export async function uninstall(ctx: Context): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "uninstall", { dryRun: ctx.dryRun });
  const { host, out } = ctx;
  if (await host.launchd.uninstall()) out.info(`${ctx.dryRun ? "would remove" : "removed"} the watch daemon ${DAEMON_LABEL}`);
  await removeEverything(host, out);
  out.info(ctx.dryRun ? "dry run: nothing changed" : "LimaWAN is uninstalled");
  return EXIT.OK;
}
