// The stand-in guest's disk: a directory per instance, $LIMA_HOME/NAME/standin-guest-fs/, holding
// the few files of an Ubuntu cloud image that LimaWAN reads or writes inside the guest (sshd's
// configuration, the Lima user's authorized_keys, fail2ban's jails) and a marker file for each
// program installed. Like a real disk it is made once, at the first boot, and survives restarts.
//
// Lima runs `provision` scripts at boot; the stand-in runs none, but installs the packages their
// `apt-get install` lines name (of those it models: nginx, fail2ban), so a provisioned sample
// boots with its services. Tests edit the files directly to model other guests.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { proc } from "./proc.mjs";

export const GUEST_FS = "standin-guest-fs";

/** A stand-in for Lima's own key ($LIMA_HOME/_config/user.pub) when the sandbox has none. */
const STANDIN_LIMA_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHN0YW5kLWluIGtleSBmb3IgTGltYVdBTiB0ZXN0cw lima";

/** Ubuntu 24.04's /etc/ssh/sshd_config, as shipped (comments shortened). */
export const UBUNTU_SSHD_CONFIG = `
# This is the sshd server system-wide configuration file.  See
# sshd_config(5) for more information.

# The strategy used for options in the default sshd_config shipped with
# OpenSSH is to specify options with their default value where
# possible, but leave them commented.  Uncommented options override the
# default value.

Include /etc/ssh/sshd_config.d/*.conf

#Port 22
#AddressFamily any
#ListenAddress 0.0.0.0
#ListenAddress ::

# Authentication:

#LoginGraceTime 2m
#PermitRootLogin prohibit-password
#StrictModes yes
#MaxAuthTries 6
#MaxSessions 10

#PubkeyAuthentication yes

# Expect .ssh/authorized_keys2 to be disregarded by default in future.
#AuthorizedKeysFile	.ssh/authorized_keys .ssh/authorized_keys2

# To disable tunneled clear text passwords, change to no here!
#PasswordAuthentication yes
#PermitEmptyPasswords no

# Change to yes to enable challenge-response passwords (beware issues with
# some PAM modules and threads)
KbdInteractiveAuthentication no

UsePAM yes

X11Forwarding yes
PrintMotd no

# Allow client to pass locale environment variables
AcceptEnv LANG LC_*

# override default of no subsystems
Subsystem	sftp	/usr/lib/openssh/sftp-server
`.trimStart();

/** What the packages the stand-in models put on the disk. */
const PACKAGES = {
  "openssh-server": {
    "usr/sbin/sshd": "",
    "usr/lib/systemd/system/ssh.service": "[Unit]\nDescription=OpenBSD Secure Shell server\n",
    "etc/ssh/sshd_config": UBUNTU_SSHD_CONFIG,
    // cloud-init writes this from `ssh_pwauth` (false unless the user-data says otherwise).
    "etc/ssh/sshd_config.d/50-cloud-init.conf": "PasswordAuthentication no\n",
  },
  nginx: {
    "usr/sbin/nginx": "",
    "usr/lib/systemd/system/nginx.service": "[Unit]\nDescription=A high performance web server and a reverse proxy server\n",
  },
  fail2ban: {
    "usr/bin/fail2ban-client": "",
    "usr/lib/systemd/system/fail2ban.service": "[Unit]\nDescription=Fail2Ban Service\n",
    "etc/fail2ban/jail.conf":
      "[DEFAULT]\nbantime  = 10m\nfindtime  = 10m\nmaxretry = 5\nbackend = auto\n\n[sshd]\nport    = ssh\nlogpath = %(sshd_log)s\nbackend = %(sshd_backend)s\n\n[nginx-http-auth]\nport    = http,https\nlogpath = %(nginx_error_log)s\n",
    "etc/fail2ban/jail.d/defaults-debian.conf": "[sshd]\nenabled = true\n",
    "etc/fail2ban/filter.d/sshd.conf": "[Definition]\nfailregex = ^Invalid user <F-USER>.*?</F-USER> from <HOST>\n",
    "etc/fail2ban/filter.d/nginx-http-auth.conf": "[Definition]\nfailregex = ^ \\[error\\] \\d+#\\d+: \\*\\d+ user \"<F-USER>.*?</F-USER>\":? was not found\n",
  },
};

export function guestFsRoot(instanceDir) {
  return path.join(instanceDir, GUEST_FS);
}

/** An absolute guest path → the file in the stand-in's directory; null for what is not absolute or escapes it. */
export function hostPath(root, guestPath) {
  if (typeof guestPath !== "string" || !guestPath.startsWith("/")) return null;
  const resolved = path.resolve(root, `.${path.posix.normalize(guestPath)}`);
  return resolved === root || resolved.startsWith(`${root}${path.sep}`) ? resolved : null;
}

/** Packages the instance's provision scripts install with apt-get/apt (those the stand-in models). */
export function provisionedPackages(config) {
  const packages = new Set();
  for (const step of Array.isArray(config?.provision) ? config.provision : []) {
    const script = typeof step?.script === "string" ? step.script : "";
    for (const m of script.matchAll(/\bapt(?:-get)?\s+(?:-\S+\s+)*install\s+([^\n;&|]+)/g)) {
      for (const word of m[1].split(/\s+/)) if (word in PACKAGES) packages.add(word);
    }
  }
  return [...packages];
}

/**
 * The first boot's disk, unless the instance already has one: the cloud image's sshd, the
 * Lima user (passwd, home, authorized_keys with Lima's key, as cloud-init makes them), and the
 * packages provisioning installs.
 */
export function seedGuestFs(home, inst) {
  const root = guestFsRoot(inst.dir);
  if (existsSync(root)) return root;
  const building = `${root}.${proc.pid}.tmp`;
  rmSync(building, { recursive: true, force: true });
  const user = inst.config.user;
  const put = (file, text, mode = 0o644) => {
    const target = path.join(building, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text, { mode });
  };
  for (const pkg of ["openssh-server", ...provisionedPackages(inst.config)]) {
    for (const [file, text] of Object.entries(PACKAGES[pkg])) put(file, text);
  }
  put("etc/passwd", `root:x:0:0:root:/root:/bin/bash\n${user.name}:x:${user.uid}:1000:${user.comment ?? user.name}:${user.home}:${user.shell ?? "/bin/bash"}\n`);
  let key = STANDIN_LIMA_KEY;
  try {
    key = readFileSync(path.join(home, "_config", "user.pub"), "utf8").trim();
  } catch {
    // the sandbox made no key: the stand-in's own
  }
  put(`${user.home.replace(/^\//, "")}/.ssh/authorized_keys`, `${key}\n`, 0o600);
  renameSync(building, root);
  return root;
}

export function readGuestFile(root, guestPath) {
  const file = hostPath(root, guestPath);
  if (!file) return null;
  try {
    return statSync(file).isFile() ? readFileSync(file, "utf8") : null;
  } catch {
    return null;
  }
}

export function guestFileKind(root, guestPath) {
  const file = hostPath(root, guestPath);
  if (!file) return null;
  try {
    const stat = statSync(file);
    return stat.isDirectory() ? "directory" : stat.isFile() ? { size: stat.size, mode: stat.mode } : "other";
  } catch {
    return null;
  }
}

/** Files of a guest directory, sorted as a glob expands them; [] when it is absent. */
export function listGuestDir(root, guestDir) {
  const dir = hostPath(root, guestDir);
  if (!dir) return [];
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}
