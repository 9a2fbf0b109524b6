// `install` / `uninstall`: the launchd daemon that runs `watch` at boot for the invoking
// user's LIMA_HOME, plus the PF anchor points in pf.conf. `uninstall` removes both, every
// LimaWAN rule, and restores IP forwarding if LimaWAN turned it on.
import { bundleDir } from "../bundle.js";
import type { Context } from "../context.js";
import { installPfConf, removeEverything } from "../engine/installation.js";
import { OVERRIDE_NAMES, requireHostAccess } from "../environment.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { daemonPlist, DAEMON_LABEL } from "../host/launchd.js";
import { NOT_OURS } from "../host/root-copy.js";
import { VERSION } from "../version.js";

/** The daemon's own PATH: the system's only. Root runs the macOS tools by absolute path anyway (host/run.ts). */
const DAEMON_PATH = "/usr/bin:/bin:/usr/sbin:/sbin";

/** The environment the daemon needs to find the same Lima, tools and paths as this command. */
function daemonEnvironment(ctx: Context, onPublicAddress: string | undefined): Record<string, string> {
  const { env, paths, invokingUser } = ctx.environment;
  const out: Record<string, string> = {
    LIMA_HOME: paths.limaHome,
    // limactl runs as the user, found on the user's PATH (Homebrew's is not root's).
    ...(env.LIMAWAN_INVOKER_PATH || env.PATH ? { LIMAWAN_INVOKER_PATH: env.LIMAWAN_INVOKER_PATH || env.PATH! } : {}),
    PATH: DAEMON_PATH,
  };
  if (invokingUser) {
    // Read back by plugin/environment.ts: Lima is run as this user, never as root.
    Object.assign(out, { SUDO_USER: invokingUser.name, SUDO_UID: String(invokingUser.uid), SUDO_GID: String(invokingUser.gid) });
  }
  for (const name of OVERRIDE_NAMES) {
    if (env[name]) out[name] = env[name]!;
  }
  // Run by the daemon as the user above, never as root (host/user-command.ts).
  if (onPublicAddress) out.LIMAWAN_ON_PUBLIC_ADDRESS = onPublicAddress;
  return out;
}

export async function install(ctx: Context, _args: string[] = [], options: { onPublicAddress?: string } = {}): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "install", { dryRun: ctx.dryRun });
  const { host, out } = ctx;
  // The daemon runs Lima as this user: Lima refuses to run as root.
  if (!ctx.environment.invokingUser && !ctx.dryRun) {
    throw new CliError(EXIT.ENVIRONMENT, "cannot tell whose Lima VMs to watch", "Run `limactl limawan install` as the user who owns the VMs (not from a root shell).");
  }
  // What root will run, first: a copy only root can change (nothing of it in a user's prefix).
  const copy = await host.rootCopy.install({ bundle: bundleDir(), node: process.execPath, version: VERSION, paths: ctx.environment.paths });
  out.info(`${ctx.dryRun ? "would install" : "installed"} LimaWAN ${VERSION} for root in ${host.rootCopy.dir}${copy.nodeCopied ? ` (with a copy of ${process.execPath})` : ` (run by ${copy.node})`}`);

  const changed = await installPfConf(host, out);
  out.info(changed ? `added the limawan anchor points to ${host.pfConf.file}` : `${host.pfConf.file} already has the limawan anchor points`);

  await host.launchd.install(await daemonPlist({ launcher: host.rootCopy.launcher, environment: daemonEnvironment(ctx, options.onPublicAddress), logFile: host.launchd.logFile }));
  out.info(`${ctx.dryRun ? "would install" : "installed"} the watch daemon ${DAEMON_LABEL} (log: ${host.launchd.logFile})`);
  return EXIT.OK;
}

export async function uninstall(ctx: Context): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "uninstall", { dryRun: ctx.dryRun });
  const { host, out } = ctx;
  if (await host.launchd.uninstall()) out.info(`${ctx.dryRun ? "would remove" : "removed"} the watch daemon ${DAEMON_LABEL}`);
  await removeEverything(host, out);
  const copy = await host.rootCopy.remove();
  if (copy === "removed") out.info(`${ctx.dryRun ? "would remove" : "removed"} ${host.rootCopy.dir}`);
  else if (copy === "not-ours") out.warn(`left ${host.rootCopy.dir} as it is: it ${NOT_OURS}`);
  out.info(ctx.dryRun ? "dry run: nothing changed" : "LimaWAN is uninstalled");
  return EXIT.OK;
}
