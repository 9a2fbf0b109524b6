// `harden`: what changes inside the guest, as data. Pure: the guest's current files in, the
// files harden wants out (with what to refuse, and what to reload), so the same plan is shown by
// --dry-run as diffs and applied by harden-guest.ts.
//
// sshd (sshd_config(5)): for each keyword the FIRST value read wins, and an `Include` is read
// where it stands, its files in lexical order. So the settings go in a drop-in that sorts before
// the others (cloud-init's 50-cloud-init.conf may say `PasswordAuthentication yes`) when
// sshd_config includes sshd_config.d, and sshd_config itself is left alone (package upgrades
// then replace it without asking) — except for our keywords set above the Include, which would
// win and are commented out. Without the Include, a marked block at the top of sshd_config.
//
// fail2ban: a jail per SSH port forwarded to the guest, reading sshd's journal (`backend =
// systemd`). PF's rdr keeps each client's own address, so what sshd logs, and fail2ban bans, is
// the client itself — never Lima's own connections (`limactl shell`), which come from its
// user-mode network and are ignored.
import type { VmSpec } from "../../compiler/ir.js";

export const SSHD_CONFIG = "/etc/ssh/sshd_config";
/** `00-`: read before every other drop-in, so its values are the ones sshd keeps. */
export const SSHD_DROP_IN = "/etc/ssh/sshd_config.d/00-limawan.conf";
export const JAIL_FILE = "/etc/fail2ban/jail.d/limawan.conf";
export const BACKUP_DIR = "/var/lib/limawan/harden-backup";
export const MANIFEST = `${BACKUP_DIR}/manifest.json`;

/** What harden sets, and what `sshd -T` must then report (PermitRootLogin no prints as `no`). */
export const SSHD_SETTINGS: ReadonlyArray<readonly [string, string]> = [
  ["PasswordAuthentication", "no"],
  ["KbdInteractiveAuthentication", "no"],
  ["PermitRootLogin", "no"],
  ["PubkeyAuthentication", "yes"],
];
/** sshd reads ChallengeResponseAuthentication as KbdInteractiveAuthentication. */
const ALIASES: Record<string, string> = { challengeresponseauthentication: "kbdinteractiveauthentication" };

/** Lima's user-mode network (eth0, 192.168.5.0/24): where `limactl shell`'s SSH comes from. */
export const LIMA_USER_NETWORK = "192.168.5.0/24";

const BLOCK_BEGIN = "# limawan harden: begin (`limactl limawan harden --undo` restores the original)";
const BLOCK_END = "# limawan harden: end";
const COMMENTED = "#limawan harden: ";

export interface HardenFacts {
  instance: string;
  /** The Lima user inside the guest, and the authorized_keys files sshd reads for them. */
  user: string;
  authorizedKeys: ReadonlyArray<{ file: string; text: string | null }>;
  /** Lima's own public key ($LIMA_HOME/_config/user.pub), when readable: the one `limactl shell` uses. */
  limaKey: string | null;
  sshdConfig: string;
  dropIn: string | null;
  fail2banInstalled: boolean;
  jail: string | null;
  /** Guest ports of the VM's SSH forwards. */
  sshPorts: readonly number[];
  /** harden's backups so far (null: none). */
  manifest: Manifest | null;
}

export interface FileChange { path: string; before: string | null; after: string | null }

export type HardenPlan =
  | { ok: true; changes: FileChange[]; reloadSsh: boolean; reloadFail2ban: boolean; notes: string[] }
  | { ok: false; refusal: string; hint: string };

export interface Manifest { version: 1; files: Array<{ path: string; existed: boolean }> }

/** Guest ports of SSH forwards: named `ssh`, or to guest port 22. */
export function sshGuestPorts(spec: VmSpec | null): number[] {
  const ports = new Set<number>();
  for (const forward of spec?.forwards ?? []) {
    if (forward.protocol === "udp") continue;
    if (forward.name === "ssh" || (forward.guest.first <= 22 && 22 <= forward.guest.last)) {
      ports.add(forward.name === "ssh" || forward.guest.first === forward.guest.last ? forward.guest.first : 22);
    }
  }
  return [...ports].sort((a, b) => a - b);
}

const KEY = /(?:^|\s)(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-\S+|sk-\S+@openssh\.com)\s+([A-Za-z0-9+/]{16,}={0,3})(?:\s|$)/;

/** The public keys (their base64) in an authorized_keys text: lines holding a key type and its key, options allowed before. */
export function authorizedKeys(text: string | null): string[] {
  return (text ?? "").split("\n").flatMap((line) => (/^\s*#/.test(line) ? [] : (KEY.exec(line)?.slice(1, 2) ?? [])));
}

/** `AuthorizedKeysFile` tokens (`sshd -T`'s `authorizedkeysfile`) → absolute paths (%h, %u, %%; relative to home). */
export function authorizedKeysFiles(setting: string, user: string, home: string): string[] {
  return setting
    .split(/\s+/)
    .filter((t) => t && t !== "none")
    .map((token) => token.replace(/%(%|h|u)/g, (_m, c: string) => (c === "%" ? "%" : c === "h" ? home : user)))
    .map((file) => (file.startsWith("/") ? file : `${home.replace(/\/$/, "")}/${file}`));
}

export function planHardening(facts: HardenFacts): HardenPlan {
  const keys = facts.authorizedKeys.flatMap((f) => authorizedKeys(f.text));
  if (keys.length === 0) {
    return {
      ok: false,
      refusal: `refusing to harden ${facts.instance}: ${facts.user} has no authorized SSH key in the guest (${facts.authorizedKeys.map((f) => f.file).join(", ")}), so turning passwords off would lock them out`,
      hint: `Add a public key for ${facts.user} first (Lima puts its own there at the first boot: has ~/.ssh/authorized_keys been emptied?).`,
    };
  }
  if (facts.sshPorts.length > 0 && !facts.fail2banInstalled) {
    return {
      ok: false,
      refusal: `refusing to harden ${facts.instance}: fail2ban is not installed in the guest, and it forwards SSH (guest port ${facts.sshPorts.join(", ")})`,
      hint: `Install it (\`limactl shell ${facts.instance} sudo apt-get install -y fail2ban\`, or in lima.yaml's provision as samples/web.yaml does), then run harden again.`,
    };
  }
  const changes: FileChange[] = [];
  const change = (path: string, before: string | null, after: string | null) => {
    if (before !== after) changes.push({ path, before, after });
  };
  const notes: string[] = [];
  const limaKey = facts.limaKey ? authorizedKeys(facts.limaKey)[0] : undefined;
  if (limaKey && keys.every((k) => k === limaKey)) {
    notes.push(`the only key ${facts.user} accepts is Lima's own (limactl shell keeps working): to log in from outside, add yours, e.g. \`limactl shell ${facts.instance} -- sh -c 'cat >> ~/.ssh/authorized_keys' < ~/.ssh/id_ed25519.pub\``);
  }

  const include = sshdIncludeLine(facts.sshdConfig);
  if (include !== null) {
    change(SSHD_CONFIG, facts.sshdConfig, commentOutAbove(facts.sshdConfig, include));
    change(SSHD_DROP_IN, facts.dropIn, dropInText());
  } else {
    change(SSHD_CONFIG, facts.sshdConfig, withTopBlock(facts.sshdConfig));
    // A drop-in of ours from when sshd_config had its Include would no longer be read.
    change(SSHD_DROP_IN, facts.dropIn, null);
  }

  if (facts.sshPorts.length > 0) change(JAIL_FILE, facts.jail, jailText(facts.sshPorts));
  else {
    change(JAIL_FILE, facts.jail, null);
    notes.push("no SSH forward: no fail2ban jail");
  }
  return {
    ok: true,
    changes,
    ...reloadsFor(changes),
    notes,
  };
}

/** The services that must load these changes: sshd for its files, fail2ban for the jail. */
export function reloadsFor(changes: readonly FileChange[]): { reloadSsh: boolean; reloadFail2ban: boolean } {
  return { reloadSsh: changes.some((c) => c.path.startsWith("/etc/ssh/")), reloadFail2ban: changes.some((c) => c.path === JAIL_FILE) };
}

/** Files whose originals must be kept before `changes` are made: those not kept already. */
export function backupsFor(changes: readonly FileChange[], manifest: Manifest | null): Manifest["files"] {
  const kept = new Set(manifest?.files.map((f) => f.path) ?? []);
  return changes.filter((c) => !kept.has(c.path)).map((c) => ({ path: c.path, existed: c.before !== null }));
}

export function backupPath(path: string): string {
  return `${BACKUP_DIR}${path}`;
}

export function parseManifest(text: string | null): Manifest | null {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as Manifest;
    const known = new Set([SSHD_CONFIG, SSHD_DROP_IN, JAIL_FILE]);
    // Only files harden itself writes are ever restored or removed, whatever the file says.
    if (value?.version === 1 && Array.isArray(value.files) && value.files.every((f) => known.has(f.path) && typeof f.existed === "boolean")) return value;
  } catch {
    // damaged: not trusted
  }
  throw new Error(`${MANIFEST} is damaged`);
}

/** `--undo`: each file back as it was before the first harden (removed when harden created it). */
export function planUndo(manifest: Manifest, current: ReadonlyMap<string, string | null>, originals: ReadonlyMap<string, string | null>): FileChange[] {
  return manifest.files
    .map((f) => ({ path: f.path, before: current.get(f.path) ?? null, after: f.existed ? (originals.get(f.path) ?? null) : null }))
    .filter((c) => c.before !== c.after);
}

/** The line index of an Include reading sshd_config.d/*.conf, when sshd reaches it unconditionally. */
export function sshdIncludeLine(config: string): number | null {
  const lines = config.split("\n");
  for (const [i, line] of lines.entries()) {
    if (/^\s*match\s/i.test(line)) return null;
    if (/^\s*include(\s*=\s*|\s+)(.*\s)?(\/etc\/ssh\/)?sshd_config\.d\/\*(\.conf)?(\s|$)/i.test(line)) return i;
  }
  return null;
}

/** A harden keyword set on this line (active, not a comment)? */
function setsHardenedKeyword(line: string): boolean {
  const keyword = /^\s*([A-Za-z]+)(\s*=|\s)/.exec(line)?.[1]?.toLowerCase();
  if (!keyword) return false;
  const canonical = ALIASES[keyword] ?? keyword;
  return SSHD_SETTINGS.some(([k]) => k.toLowerCase() === canonical);
}

/** Our keywords set above the Include would be read first, and win: commented out. */
function commentOutAbove(config: string, include: number): string {
  return config
    .split("\n")
    .map((line, i) => (i < include && setsHardenedKeyword(line) ? `${COMMENTED}${line}` : line))
    .join("\n");
}

function settingsLines(): string[] {
  return SSHD_SETTINGS.map(([k, v]) => `${k} ${v}`);
}

function dropInText(): string {
  return [
    "# Written by `limactl limawan harden`; `limactl limawan harden --undo` removes it.",
    "# sshd keeps the first value it reads for each keyword, and this file sorts first.",
    ...settingsLines(),
    "",
  ].join("\n");
}

/** The settings in a marked block above everything else in sshd_config (an older block is rewritten in place). */
function withTopBlock(config: string): string {
  const lines = config.split("\n");
  const begin = lines.indexOf(BLOCK_BEGIN);
  const end = lines.indexOf(BLOCK_END);
  if (begin >= 0 && end > begin) return [...lines.slice(0, begin + 1), ...settingsLines(), ...lines.slice(end)].join("\n");
  // After the file's opening comments, before its first setting: read first.
  let at = lines.findIndex((line) => !/^\s*(#|$)/.test(line));
  if (at < 0) at = lines.length;
  while (at > 0 && lines[at - 1]!.trim() === "") at--;
  const block = [BLOCK_BEGIN, ...settingsLines(), BLOCK_END];
  return [...lines.slice(0, at), ...(at > 0 ? [""] : []), ...block, ...(at < lines.length && lines[at]!.trim() !== "" ? [""] : []), ...lines.slice(at)].join("\n");
}

function jailText(ports: readonly number[]): string {
  const lines = [
    "# Written by `limactl limawan harden` for the SSH ports LimaWAN forwards to this VM;",
    "# `limactl limawan harden --undo` removes it. PF's rdr keeps each client's own address,",
    "# so sshd logs it and fail2ban bans that client. Lima's own connections (`limactl shell`)",
    `# come from its user-mode network, ${LIMA_USER_NETWORK}: never banned.`,
  ];
  for (const port of ports) {
    lines.push("", port === 22 ? "[sshd]" : `[sshd-${port}]`, "enabled  = true");
    if (port !== 22) lines.push("filter   = sshd");
    lines.push("backend  = systemd", `port     = ${port}`, `ignoreip = 127.0.0.1/8 ::1 ${LIMA_USER_NETWORK}`);
  }
  return `${lines.join("\n")}\n`;
}
