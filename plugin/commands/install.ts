// `install` / `uninstall`: the launchd daemon that runs `watch` at boot for the invoking
// user's LIMA_HOME, plus the PF anchor points in pf.conf. `uninstall` removes both, every
// LimaWAN rule, and restores IP forwarding if LimaWAN turned it on.
import { fileURLToPath } from "node:url";
import type { Context } from "../context.js";
import { installAnchorPoints, uninstallAnchorPoints } from "../engine/anchor-points.js";
import { converge } from "../engine/converge.js";
import { desiredState, UP_POLICY } from "../engine/desired-state.js";
import { anchorPointsIn } from "../engine/pf-conf-edit.js";
import { requireHostAccess } from "../environment.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { daemonPlist, DAEMON_LABEL } from "../host/launchd.js";
import { IP_FORWARDING } from "../host/sysctl.js";

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
  for (const name of ["LIMAWAN_PF_CONF", "LIMAWAN_STATE_DIR", "LIMAWAN_DHCPD_LEASES", "LIMAWAN_LAUNCHD_DIR", "LIMAWAN_PLATFORM"]) {
    if (env[name]) out[name] = env[name]!;
  }
  return out;
}

export async function install(ctx: Context): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "install", { dryRun: ctx.dryRun });
  const { host, out } = ctx;
  // The daemon runs Lima as this user: Lima (2.1+) refuses to run as root.
  if (!ctx.environment.invokingUser && !ctx.dryRun) {
    throw new CliError(EXIT.ENVIRONMENT, "cannot tell whose Lima VMs to watch", "Run it as `sudo limactl limawan install` from the account that owns the VMs (not from a root shell).");
  }
  await host.state.locked(async () => {
    const { changed } = await installAnchorPoints(host, out);
    out.info(changed ? `added the limawan anchor points to ${host.pfConf.file}` : `${host.pfConf.file} already has the limawan anchor points`);
    const state = await host.state.read();
    if (changed || !state.pfConf) await host.state.write({ ...state, pfConf: { addedBy: "install", backup: host.pfConf.backup } });
  });

  const program = fileURLToPath(new URL("../../../plugin/bin/limactl-limawan", import.meta.url));
  await host.launchd.install(await daemonPlist({ node: process.execPath, program, environment: daemonEnvironment(ctx), logFile: host.launchd.logFile }));
  out.info(`${ctx.dryRun ? "would install" : "installed"} the watch daemon ${DAEMON_LABEL} (log: ${host.launchd.logFile})`);
  return EXIT.OK;
}

export async function uninstall(ctx: Context): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "uninstall", { dryRun: ctx.dryRun });
  const { host, out } = ctx;
  if (await host.launchd.uninstall()) out.info(`removed the watch daemon ${DAEMON_LABEL}`);

  // Every rule, our PF reference, then the anchor points.
  await converge(host, out, (state) => desiredState(host, state, { read: "none", drop: "all" }, UP_POLICY));
  await host.state.locked(async () => {
    const state = await host.state.read();
    // Between the two locks another command (an `up`) may have applied rules: deleting the
    // state now would leave them loaded with nobody knowing of them, and leak a PF reference.
    if (!ctx.dryRun && (Object.keys(state.vms).length > 0 || state.pfToken !== null)) {
      throw new CliError(EXIT.FAILURE, "another limawan command applied rules while uninstalling", "Run `sudo limactl limawan uninstall` again.");
    }
    const points = anchorPointsIn(await host.pfConf.read().catch(() => ""));
    if (points.rdr || points.filter) {
      if (await uninstallAnchorPoints(host, out)) out.info(`removed the limawan anchor points from ${host.pfConf.file}`);
      else out.warn(`${host.pfConf.file} has limawan anchor points LimaWAN did not add; left as they are`);
    }
    if (state.forwarding?.changedByLimawan) {
      await host.sysctl.set(IP_FORWARDING, state.forwarding.prior);
      out.info(`restored ${IP_FORWARDING} to ${state.forwarding.prior} (LimaWAN had turned it on)`);
    }
    await host.state.remove();
    await host.pfConf.removeBackup();
  });
  out.info(ctx.dryRun ? "dry run: nothing changed" : "LimaWAN is uninstalled");
  return EXIT.OK;
}
