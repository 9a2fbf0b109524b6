// `install` / `uninstall`: the launchd daemon that runs `watch` at boot for the invoking
// user's LIMA_HOME, plus the PF anchor points in pf.conf. `uninstall` removes both, every
// LimaWAN rule, and restores IP forwarding if LimaWAN turned it on.
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import writeFileAtomic from "write-file-atomic";
import type { Context } from "../context.js";
import { converge } from "../converge.js";
import { requireHostAccess } from "../environment.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { DAEMON_LABEL, daemonPlist, Launchd } from "../host/launchd.js";
import { IP_FORWARDING } from "../host/sysctl.js";
import { backupPath, installAnchorPoints, removeAnchorPointsFromFile } from "../pf-conf-file.js";
import { anchorPointsIn } from "../pf-conf.js";
import { StateStore } from "../state.js";

export interface DaemonStatus { installed: boolean; loaded: boolean; plist: string; log: string }

export function plistPath(ctx: Context): string {
  return path.join(ctx.environment.paths.launchdDir, `${DAEMON_LABEL}.plist`);
}

export function logPath(ctx: Context): string {
  return path.join(ctx.environment.paths.stateDir, "watch.log");
}

export async function daemonStatus(ctx: Context): Promise<DaemonStatus> {
  const file = plistPath(ctx);
  const installed = existsSync(file);
  return { installed, loaded: installed && (await new Launchd(ctx.runner).loaded()), plist: file, log: logPath(ctx) };
}

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
  // The daemon runs Lima as this user: Lima (2.1+) refuses to run as root.
  if (!ctx.environment.invokingUser && !ctx.dryRun) {
    throw new CliError(EXIT.ENVIRONMENT, "cannot tell whose Lima VMs to watch", "Run it as `sudo limactl limawan install` from the account that owns the VMs (not from a root shell).");
  }
  const store = new StateStore(ctx.environment.paths.stateDir, ctx.runner);
  await store.locked(async () => {
    const { changed } = await installAnchorPoints(ctx);
    ctx.out.info(changed ? `added the limawan anchor points to ${ctx.environment.paths.pfConf}` : `${ctx.environment.paths.pfConf} already has the limawan anchor points`);
    const state = await store.read();
    if (changed || !state.pfConf) await store.write({ ...state, pfConf: { addedBy: "install", backup: backupPath(ctx) } });
  });

  const program = fileURLToPath(new URL("../../../plugin/bin/limactl-limawan", import.meta.url));
  const text = daemonPlist({ node: process.execPath, program, environment: daemonEnvironment(ctx), logFile: logPath(ctx) });
  const file = plistPath(ctx);
  const launchd = new Launchd(ctx.runner);
  if (ctx.dryRun) ctx.runner.noteWrite(file, text);
  else await writeFileAtomic(file, text, { mode: 0o644 });
  if (await launchd.loaded()) await launchd.bootout();
  const booted = await launchd.bootstrap(file);
  if (!booted.ok) throw new CliError(EXIT.HOST_COMMAND, `launchctl could not load ${file}`, "See `launchctl print system/" + DAEMON_LABEL + "`.", booted.message);
  ctx.out.info(`${ctx.dryRun ? "would install" : "installed"} the watch daemon ${DAEMON_LABEL} (log: ${logPath(ctx)})`);
  return EXIT.OK;
}

export async function uninstall(ctx: Context): Promise<ExitCode> {
  requireHostAccess(ctx.environment, "uninstall", { dryRun: ctx.dryRun });
  const launchd = new Launchd(ctx.runner);
  const file = plistPath(ctx);
  if (existsSync(file) || (await launchd.loaded())) {
    await launchd.bootout();
    if (ctx.dryRun) ctx.out.print(`would remove ${file}`);
    else await rm(file, { force: true });
    ctx.out.info(`removed the watch daemon ${DAEMON_LABEL}`);
  }

  // Every rule, our PF reference, then the anchor points.
  await converge(ctx, async () => []);
  const store = new StateStore(ctx.environment.paths.stateDir, ctx.runner);
  await store.locked(async () => {
    const state = await store.read();
    // Between the two locks another command (an `up`) may have applied rules: deleting the
    // state now would leave them loaded with nobody knowing of them, and leak a PF reference.
    if (!ctx.dryRun && (Object.keys(state.vms).length > 0 || state.pfToken !== null)) {
      throw new CliError(EXIT.FAILURE, "another limawan command applied rules while uninstalling", "Run `sudo limactl limawan uninstall` again.");
    }
    const pfConfText = await readFile(ctx.environment.paths.pfConf, "utf8").catch(() => "");
    const points = anchorPointsIn(pfConfText);
    if (points.rdr || points.filter) {
      if (await removeAnchorPointsFromFile(ctx)) ctx.out.info(`removed the limawan anchor points from ${ctx.environment.paths.pfConf}`);
      else ctx.out.warn(`${ctx.environment.paths.pfConf} has limawan anchor points LimaWAN did not add; left as they are`);
    }
    if (state.forwarding?.changedByLimawan) {
      await ctx.sysctl.set(IP_FORWARDING, state.forwarding.prior);
      ctx.out.info(`restored ${IP_FORWARDING} to ${state.forwarding.prior} (LimaWAN had turned it on)`);
    }
    if (ctx.dryRun) {
      ctx.out.print(`would remove ${store.file} and ${backupPath(ctx)}`);
    } else {
      await rm(store.file, { force: true });
      await rm(backupPath(ctx), { force: true });
    }
  });
  ctx.out.info(ctx.dryRun ? "dry run: nothing changed" : "LimaWAN is uninstalled");
  return EXIT.OK;
}
