// `harden` against the stand-in guest (test/standins/lib/guest-shell.mjs): its disk is read back
// file by file, and what its sshd and fail2ban loaded when harden reloaded them (sshd -T's view,
// the jails) is what the assertions are about.
import { chownSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { UBUNTU_SSHD_CONFIG } from "../standins/lib/guest-fs.mjs";
import { createSandbox, type Sandbox } from "./harness.js";

vi.setConfig({ testTimeout: 90_000 });

const DROP_IN = "/etc/ssh/sshd_config.d/00-limawan.conf";
const JAIL = "/etc/fail2ban/jail.d/limawan.conf";
const MANIFEST = "/var/lib/limawan/harden-backup/manifest.json";

/** The README's web VM: nginx and fail2ban provisioned, SSH and HTTP forwarded. */
const WEB = `networks:
  - lima: shared
provision:
  - mode: system
    script: |
      apt-get install -y nginx fail2ban
x-limawan: |
  expose ssh 22 as 2222 limit 5/30s
  expose http 80 as 8080
`;

let sb: Sandbox;
afterEach(async () => {
  await sb?.cleanup();
});

/** Lima's own key pair is made with $LIMA_HOME/_config; cloud-init authorizes its public half in the guest. */
const LIMA_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExpbWEncyBvd24ga2V5IGluIHRoZSBzYW5kYm94 lima";

async function webVm(): Promise<void> {
  sb = await createSandbox();
  const key = path.join(sb.paths.limaHome, "_config", "user.pub");
  writeFileSync(key, `${LIMA_KEY}\n`, { mode: 0o644 });
  // The user's own, as Lima makes it: root reads Lima-home files only when they are the user's.
  if (sb.vmUser) chownSync(key, sb.vmUser.uid, sb.vmUser.gid);
  await sb.addInstance("web", WEB);
  await sb.startVm("web");
}

const user = () => (sb.guestFile("web", "/etc/passwd") ?? "").split("\n")[1]!.split(":");
const authorizedKeys = () => `${user()[5]}/.ssh/authorized_keys`;
/** The guest's files harden may touch, as they are now. */
const disk = () => Object.fromEntries(["/etc/ssh/sshd_config", DROP_IN, JAIL, MANIFEST].map((f) => [f, sb.guestFile("web", f)]));

describe("harden", () => {
  it("keys only and no root login where sshd reads them first, a jail for the SSH forward; run again, nothing changes", async () => {
    await webVm();
    // cloud-init saying yes must not win: harden's drop-in sorts before it.
    sb.setGuestFile("web", "/etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication yes\n");
    const r = await sb.run(["harden", "web"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/web: the only key \S+ accepts is Lima's own \(limactl shell keeps working\): to log in from outside, add yours/);
    expect(r.stderr).toContain(`created ${DROP_IN}`);
    expect(r.stderr).toContain(`created ${JAIL}`);
    expect(r.stderr).toMatch(/web hardened; the originals are kept in \/var\/lib\/limawan\/harden-backup \(`limactl limawan harden web --undo` puts them back\)/);

    expect(sb.guestFile("web", "/etc/ssh/sshd_config")).toBe(UBUNTU_SSHD_CONFIG); // left to the package
    const services = sb.guestServices("web");
    // What the reloaded sshd uses now.
    expect(services.ssh).toMatchObject({ reloads: 1, config: { passwordauthentication: "no", kbdinteractiveauthentication: "no", permitrootlogin: "no", pubkeyauthentication: "yes" } });
    expect(services.fail2ban).toMatchObject({ restarts: 0, reloads: 1 });
    expect(services.fail2ban!.jails).toContainEqual({ name: "sshd", filter: "sshd", port: "22", backend: "systemd", ignoreip: "127.0.0.1/8 ::1 192.168.5.0/24" });
    expect(JSON.parse(sb.guestFile("web", MANIFEST)!)).toEqual({ version: 1, files: [{ path: DROP_IN, existed: false }, { path: JAIL, existed: false }] });

    const before = disk();
    const again = await sb.run(["harden", "web"]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain("web is hardened already: nothing to change");
    expect(disk()).toEqual(before);
    expect(sb.guestServices("web")).toEqual(services); // nothing reloaded
  });

  // One VM from --dry-run to --undo: each step starts where the one before left the guest (a
  // sandbox and a VM cost as much as two harden runs).
  it("--dry-run shows each change as a diff and changes nothing, --json carries the same; --undo puts sshd_config back, removes what harden created, and reloads; then there is nothing to undo", async () => {
    await webVm();
    const original = `PermitRootLogin yes\n${UBUNTU_SSHD_CONFIG}`;
    sb.setGuestFile("web", "/etc/ssh/sshd_config", original);
    const before = disk();
    const r = await sb.run(["harden", "web", "--dry-run"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("--- a/etc/ssh/sshd_config\n+++ b/etc/ssh/sshd_config\n@@ -1,4 +1,4 @@\n-PermitRootLogin yes\n+#limawan harden: PermitRootLogin yes\n # This is the sshd server system-wide configuration file.  See\n");
    expect(r.stdout).toContain(`--- /dev/null\n+++ b${DROP_IN}\n@@ -0,0 +1,6 @@\n`);
    expect(r.stdout).toContain("+PasswordAuthentication no\n+KbdInteractiveAuthentication no\n+PermitRootLogin no\n+PubkeyAuthentication yes\n");
    expect(r.stdout).toContain(`+++ b${JAIL}`);
    expect(r.stderr).toMatch(/web: would change 3 file\(s\) and reload ssh, reload fail2ban; nothing was changed/);
    expect(disk()).toEqual(before);
    expect(sb.guestServices("web")).toEqual({});

    const json = await sb.run(["harden", "web", "--dry-run", "--json"]);
    const parsed = JSON.parse(json.stdout) as { instance: string; dryRun: boolean; changes: Array<{ path: string; action: string; diff: string }>; services: string[] };
    expect(parsed).toMatchObject({ instance: "web", dryRun: true, services: [] });
    expect(parsed.changes.map((c) => [c.path, c.action])).toEqual([
      ["/etc/ssh/sshd_config", "modify"],
      [DROP_IN, "create"],
      [JAIL, "create"],
    ]);
    expect(parsed.changes[1]!.diff).toMatch(/^--- \/dev\/null\n/);
    expect(disk()).toEqual(before);

    expect((await sb.run(["harden", "web"])).exitCode).toBe(0);
    expect(sb.guestFile("web", "/etc/ssh/sshd_config")).toMatch(/^#limawan harden: PermitRootLogin yes\n/);
    expect(sb.guestServices("web").ssh!.config).toMatchObject({ permitrootlogin: "no" });

    const dry = await sb.run(["harden", "web", "--undo", "--dry-run"]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("-#limawan harden: PermitRootLogin yes\n+PermitRootLogin yes");
    expect(dry.stdout).toContain(`--- a${DROP_IN}\n+++ /dev/null`);

    const undo = await sb.run(["harden", "web", "--undo"]);
    expect(undo.exitCode, undo.stderr).toBe(0);
    expect(undo.stderr).toContain("web: restored what harden changed");
    expect(disk()).toEqual({ "/etc/ssh/sshd_config": original, [DROP_IN]: null, [JAIL]: null, [MANIFEST]: null });
    expect(sb.guestServices("web").ssh).toMatchObject({ reloads: 2, config: { permitrootlogin: "yes" } });
    expect(sb.guestServices("web").fail2ban!.jails!.map((j) => `${j.name}:${j.port}:${j.backend}`)).toEqual(["sshd:ssh:%(sshd_backend)s"]); // the distribution's own jail again

    const nothing = await sb.run(["harden", "web", "--undo"]);
    expect(nothing.exitCode).toBe(0);
    expect(nothing.stderr).toContain("web: nothing to undo");
  });

  // One VM for every refusal and the rollback: each is undone before the next, and each must
  // leave the guest's files as they were (what harden decides from the facts is
  // test/engine/harden.test.ts's; here, the exit code, the message, and what was reloaded).
  it("refuses, changing nothing: a user it would lock out, an sshd that already rejects its configuration, no fail2ban with SSH forwarded; puts every file back when fail2ban refuses the jail (exit 4), sshd included; refuses a VM that is not running", async () => {
    await webVm();
    const pristine = disk();
    const refused = async (why: RegExp[]) => {
      const before = disk();
      const r = await sb.run(["harden", "web"]);
      expect(r.exitCode, r.stderr).toBe(1);
      for (const pattern of why) expect(r.stderr).toMatch(pattern);
      expect(disk()).toEqual(before);
      expect(sb.guestServices("web")).toEqual({});
    };

    // No authorized key for the Lima user: turning passwords off would lock them out.
    const keys = sb.guestFile("web", authorizedKeys());
    sb.setGuestFile("web", authorizedKeys(), "# emptied\n");
    await refused([new RegExp(`refusing to harden web: ${user()[0]} has no authorized SSH key in the guest \\(${authorizedKeys().replace(/\./g, "\\.")}, .*authorized_keys2\\), so turning passwords off would lock them out`)]);
    sb.setGuestFile("web", authorizedKeys(), keys);

    // sshd rejects its configuration already: sshd's complaint named.
    sb.setGuestFile("web", "/etc/ssh/sshd_config", `${UBUNTU_SSHD_CONFIG}Bogus yes\n`);
    await refused([/sshd already rejects its configuration in web; fix that first/, /Bad configuration option: Bogus/, /`limactl shell web sudo sshd -t` names the line/]);
    sb.setGuestFile("web", "/etc/ssh/sshd_config", pristine["/etc/ssh/sshd_config"]!);

    // fail2ban not installed (its client gone), and the VM forwards SSH.
    const client = sb.guestFile("web", "/usr/bin/fail2ban-client");
    sb.setGuestFile("web", "/usr/bin/fail2ban-client", null);
    await refused([/fail2ban is not installed in the guest, and it forwards SSH \(guest port 22\)/, /hint: Install it \(`limactl shell web sudo apt-get install -y fail2ban`/]);
    sb.setGuestFile("web", "/usr/bin/fail2ban-client", client);
    expect(disk()).toEqual(pristine);

    // fail2ban refuses the jail (it cannot load an sshd jail): every file put back, sshd included (exit 4).
    sb.setGuestFile("web", "/etc/fail2ban/filter.d/sshd.conf", null);
    const rolledBack = await sb.run(["harden", "web"]);
    expect(rolledBack.exitCode).toBe(4);
    expect(rolledBack.stderr).toMatch(/`sudo systemctl reload-or-restart fail2ban` failed in web .*; every file was put back as it was/);
    expect(disk()).toEqual({ ...pristine, [MANIFEST]: expect.any(String) }); // the originals' record stays for --undo
    // sshd was reloaded with the hardening, then again with the original settings.
    expect(sb.guestServices("web").ssh).toMatchObject({ reloads: 2, config: { passwordauthentication: "no", permitrootlogin: "without-password" } });

    await sb.stopVm("web");
    const stopped = await sb.run(["harden", "web"]);
    expect(stopped.exitCode).toBe(1);
    expect(stopped.stderr).toMatch(/instance `web` is stopped/);
  });
});
