// `harden`'s I/O inside the guest (through host/lima-guest.ts): read what harden.ts plans from,
// then make the changes — originals kept first, sshd's verdict asked before it reloads, and
// everything put back when sshd or fail2ban refuses, so a failed harden never leaves the guest
// with a configuration sshd would not start with.
import type { VmSpec } from "../../compiler/ir.js";
import { CliError, EXIT } from "../errors.js";
import type { Host } from "../host/index.js";
import {
  authorizedKeysFiles,
  backupPath,
  backupsFor,
  BACKUP_DIR,
  JAIL_FILE,
  MANIFEST,
  parseManifest,
  planUndo,
  reloadsFor,
  sshGuestPorts,
  SSHD_CONFIG,
  SSHD_DROP_IN,
  SSHD_SETTINGS,
  type FileChange,
  type HardenFacts,
  type Manifest,
} from "./harden.js";

export interface GuestServices {
  /** Debian and Ubuntu call sshd's unit `ssh`, Fedora and Arch `sshd`. */
  sshUnit: string;
}

/** What harden plans from, read from the running guest. Refuses a guest whose sshd already rejects its configuration. */
export async function readHardenFacts(host: Host, name: string, spec: VmSpec | null): Promise<HardenFacts & GuestServices> {
  const guest = host.lima.guest;
  const [user, sshd, services] = await Promise.all([guest.user(name), guest.exists(name, "/usr/sbin/sshd"), guestServices(host, name)]);
  if (!sshd) throw new CliError(EXIT.FAILURE, `sshd is not installed in ${name}`, `Lima's guests need it; check the image (limactl shell ${name} ls /usr/sbin/sshd).`);
  // One guest round trip: sshd -T checks the configuration as -t does, and prints it.
  const effective = await guest.sshdEffective(name);
  if ("rejected" in effective) {
    throw new CliError(EXIT.FAILURE, `sshd already rejects its configuration in ${name}; fix that first`, `\`limactl shell ${name} sudo sshd -t\` names the line.`, effective.rejected);
  }
  const keyFiles = authorizedKeysFiles(effective.settings.get("authorizedkeysfile") ?? ".ssh/authorized_keys .ssh/authorized_keys2", user.name, user.home);
  const [authorizedKeys, sshdConfig, dropIn, jail, fail2banInstalled, manifestText] = await Promise.all([
    Promise.all(keyFiles.map(async (file) => ({ file, text: await guest.readFile(name, file) }))),
    guest.readFile(name, SSHD_CONFIG),
    guest.readFile(name, SSHD_DROP_IN),
    guest.readFile(name, JAIL_FILE),
    guest.exists(name, "/usr/bin/fail2ban-client"),
    guest.readFile(name, MANIFEST),
  ]);
  if (sshdConfig === null) throw new CliError(EXIT.FAILURE, `${SSHD_CONFIG} is missing in ${name}`);
  const limaKey = await host.lima.userPublicKey();
  return { instance: name, user: user.name, authorizedKeys, limaKey, sshdConfig, dropIn, jail, fail2banInstalled, sshPorts: sshGuestPorts(spec), manifest: manifestOf(name, manifestText), ...services };
}

async function guestServices(host: Host, name: string): Promise<GuestServices> {
  return { sshUnit: (await host.lima.guest.exists(name, "/usr/lib/systemd/system/ssh.service")) ? "ssh" : "sshd" };
}

function manifestOf(name: string, text: string | null): Manifest | null {
  try {
    return parseManifest(text);
  } catch (error) {
    throw new CliError(EXIT.FAILURE, `${(error as Error).message} in ${name}`, `Look at ${BACKUP_DIR} in the guest; harden keeps the originals there.`);
  }
}

/** Keep the originals not kept yet, make the changes, then have sshd and fail2ban take them. */
export async function applyHardening(host: Host, name: string, changes: readonly FileChange[], manifest: Manifest | null, services: GuestServices): Promise<string[]> {
  const guest = host.lima.guest;
  const backups = backupsFor(changes, manifest);
  for (const backup of backups) {
    const original = changes.find((c) => c.path === backup.path)!.before;
    if (original !== null) await guest.writeFile(name, backupPath(backup.path), original, "600");
  }
  if (backups.length > 0) {
    const next: Manifest = { version: 1, files: [...(manifest?.files ?? []), ...backups] };
    await guest.writeFile(name, MANIFEST, `${JSON.stringify(next, null, 2)}\n`, "600");
  }
  return makeChanges(host, name, changes, services, true);
}

/** `--undo`: the originals and what harden created, read from the guest (null: nothing to undo). */
export async function readUndo(host: Host, name: string): Promise<{ manifest: Manifest; changes: FileChange[]; services: GuestServices } | null> {
  const guest = host.lima.guest;
  const manifest = manifestOf(name, await guest.readFile(name, MANIFEST));
  if (!manifest) return null;
  const current = new Map<string, string | null>();
  const originals = new Map<string, string | null>();
  await Promise.all(
    manifest.files.map(async (f) => {
      current.set(f.path, await guest.readFile(name, f.path));
      if (!f.existed) return;
      const original = await guest.readFile(name, backupPath(f.path));
      if (original === null) throw new CliError(EXIT.FAILURE, `the original of ${f.path} is missing from ${BACKUP_DIR} in ${name}; nothing was changed`);
      originals.set(f.path, original);
    }),
  );
  return { manifest, changes: planUndo(manifest, current, originals), services: await guestServices(host, name) };
}

/** Put the originals back, have the services take them, and drop the backups. */
export async function applyUndo(host: Host, name: string, changes: readonly FileChange[], services: GuestServices): Promise<string[]> {
  const done = await makeChanges(host, name, changes, services, false);
  await host.lima.guest.removeFile(name, BACKUP_DIR, true);
  return done;
}

/**
 * Write each change, then: sshd checks its configuration (and, hardening, that the settings are
 * the ones it now uses) before it reloads; fail2ban restarts with the jail. When one refuses,
 * every file goes back as it was and the services with it; the error says what refused.
 */
async function makeChanges(host: Host, name: string, changes: readonly FileChange[], services: GuestServices, verify: boolean): Promise<string[]> {
  const guest = host.lima.guest;
  const write = (path: string, text: string | null) => (text === null ? guest.removeFile(name, path) : guest.writeFile(name, path, text));
  const { reloadSsh: ssh, reloadFail2ban: fail2ban } = reloadsFor(changes);
  const done: string[] = [];
  for (const change of changes) await write(change.path, change.after);
  try {
    if (ssh) {
      if (verify) await checkEffective(host, name);
      else {
        const rejected = await guest.sshdCheck(name);
        if (rejected) throw rejectsNew(name, rejected);
      }
      await guest.systemctl(name, "try-reload-or-restart", services.sshUnit);
      done.push(`reloaded ${services.sshUnit}`);
    }
    if (fail2ban) {
      await guest.systemctl(name, "reload-or-restart", "fail2ban");
      done.push("reloaded fail2ban");
    }
  } catch (error) {
    const reason = error instanceof CliError ? error : new CliError(EXIT.HOST_COMMAND, String(error));
    const problems: string[] = [];
    for (const change of [...changes].reverse()) await write(change.path, change.before).catch((e: Error) => problems.push(`${change.path}: ${e.message}`));
    if (ssh) await guest.systemctl(name, "try-reload-or-restart", services.sshUnit).catch((e: Error) => problems.push(e.message));
    if (fail2ban) await guest.systemctl(name, "reload-or-restart", "fail2ban").catch(() => undefined); // fail2ban may have refused the old jail too
    throw new CliError(
      EXIT.HOST_COMMAND,
      `${reason.message}; ${problems.length === 0 ? "every file was put back as it was" : `putting the files back failed too: ${problems.join("; ")}`}`,
      reason.hint,
      reason.detail,
    );
  }
  return done;
}

const rejectsNew = (name: string, rejected: string) => new CliError(EXIT.HOST_COMMAND, `sshd rejects the new configuration in ${name}`, undefined, rejected);

/** After hardening, sshd -T must accept the files and report each setting: another file read first would win. */
async function checkEffective(host: Host, name: string): Promise<void> {
  const effective = await host.lima.guest.sshdEffective(name);
  if ("rejected" in effective) throw rejectsNew(name, effective.rejected);
  const { settings } = effective;
  const off = SSHD_SETTINGS.filter(([k, v]) => settings.get(k.toLowerCase()) !== v).map(([k, v]) => `${k} is ${settings.get(k.toLowerCase()) ?? "unset"}, not ${v}`);
  if (off.length > 0) {
    throw new CliError(EXIT.FAILURE, `sshd does not take the settings in ${name}: ${off.join("; ")}`, `Another file sets them first: \`limactl shell ${name} sudo grep -ri PasswordAuthentication /etc/ssh\`.`);
  }
}
