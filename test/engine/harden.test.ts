// harden's plan, from the guest's files alone: the settings where sshd reads them first, a
// jail per forwarded SSH port, nothing when it is done already, and a refusal rather than a
// locked-out user.
import { describe, expect, it } from "vitest";
import { compileFile } from "../../compiler/pipeline.js";
import {
  authorizedKeys,
  authorizedKeysFiles,
  backupsFor,
  JAIL_FILE,
  parseManifest,
  planHardening,
  planUndo,
  sshdIncludeLine,
  sshGuestPorts,
  SSHD_CONFIG,
  SSHD_DROP_IN,
  type FileChange,
  type HardenFacts,
} from "../../plugin/engine/harden.js";
import { UBUNTU_SSHD_CONFIG } from "../standins/lib/guest-fs.mjs";
import { limaYaml } from "./fake-host.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHN0YW5kLWluIGtleSBmb3IgTGltYVdBTiB0ZXN0cw lima";

function facts(overrides: Partial<HardenFacts> = {}): HardenFacts {
  return {
    instance: "web",
    user: "lima",
    authorizedKeys: [
      { file: "/home/lima.linux/.ssh/authorized_keys", text: `${KEY}\n` },
      { file: "/home/lima.linux/.ssh/authorized_keys2", text: null },
    ],
    limaKey: null,
    sshdConfig: UBUNTU_SSHD_CONFIG,
    dropIn: null,
    fail2banInstalled: true,
    jail: null,
    sshPorts: [22],
    manifest: null,
    ...overrides,
  };
}

function changes(f: HardenFacts): FileChange[] {
  const plan = planHardening(f);
  if (!plan.ok) throw new Error(plan.refusal);
  return plan.changes;
}

/** The facts as the guest has them once `changes` are made. */
function after(f: HardenFacts, made: FileChange[]): HardenFacts {
  const text = (path: string, current: string | null) => made.find((c) => c.path === path)?.after ?? (made.some((c) => c.path === path) ? null : current);
  return { ...f, sshdConfig: text(SSHD_CONFIG, f.sshdConfig)!, dropIn: text(SSHD_DROP_IN, f.dropIn), jail: text(JAIL_FILE, f.jail) };
}

describe("sshd", () => {
  it("with sshd_config's Include: a drop-in read before the others, sshd_config untouched", () => {
    const made = changes(facts());
    expect(made.map((c) => [c.path, c.before === null ? "create" : "modify"])).toEqual([
      [SSHD_DROP_IN, "create"],
      [JAIL_FILE, "create"],
    ]);
    expect(SSHD_DROP_IN).toBe("/etc/ssh/sshd_config.d/00-limawan.conf"); // sorts before cloud-init's 50-
    expect(made[0]!.after).toMatch(/^PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\nPubkeyAuthentication yes\n$/m);
  });

  it("comments out our keywords set above the Include, which sshd would read first", () => {
    const config = `PermitRootLogin yes\nchallengeresponseauthentication=yes\nPort 22\n${UBUNTU_SSHD_CONFIG}`;
    const made = changes(facts({ sshdConfig: config }));
    const edited = made.find((c) => c.path === SSHD_CONFIG)!.after!;
    expect(edited.split("\n").slice(0, 3)).toEqual(["#limawan harden: PermitRootLogin yes", "#limawan harden: challengeresponseauthentication=yes", "Port 22"]);
    expect(edited.split("\n").slice(3).join("\n")).toBe(UBUNTU_SSHD_CONFIG);
  });

  it("without the Include (or behind a Match): a marked block above the first setting of sshd_config", () => {
    const config = "# my sshd\n\nPort 22\nPasswordAuthentication yes\n";
    const made = changes(facts({ sshdConfig: config, dropIn: "# stale drop-in of ours\n" }));
    expect(made.find((c) => c.path === SSHD_CONFIG)!.after).toBe(
      "# my sshd\n\n# limawan harden: begin (`limactl limawan harden --undo` restores the original)\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\nPubkeyAuthentication yes\n# limawan harden: end\n\nPort 22\nPasswordAuthentication yes\n",
    );
    // A drop-in of ours that sshd would no longer read goes.
    expect(made.find((c) => c.path === SSHD_DROP_IN)).toMatchObject({ after: null });
    expect(sshdIncludeLine("Match User x\nInclude /etc/ssh/sshd_config.d/*.conf\n")).toBeNull();
    expect(sshdIncludeLine("Include sshd_config.d/*.conf\n")).toBe(0);
  });

  it("is idempotent: run on its own result, it changes nothing", () => {
    for (const sshdConfig of [UBUNTU_SSHD_CONFIG, `PermitRootLogin yes\n${UBUNTU_SSHD_CONFIG}`, "Port 22\n", "", "# only a comment"]) {
      const first = facts({ sshdConfig });
      const plan = planHardening(after(first, changes(first)));
      expect(plan).toMatchObject({ ok: true, changes: [], reloadSsh: false, reloadFail2ban: false });
    }
  });
});

describe("fail2ban", () => {
  it("a [sshd]-based jail per forwarded SSH guest port, on sshd's journal, never banning Lima's own SSH", () => {
    const jail = changes(facts({ sshPorts: [22, 2200] })).find((c) => c.path === JAIL_FILE)!.after!;
    expect(jail.split("\n").filter((l) => !l.startsWith("#"))).toEqual([
      "",
      "[sshd]",
      "enabled  = true",
      "backend  = systemd",
      "port     = 22",
      "ignoreip = 127.0.0.1/8 ::1 192.168.5.0/24",
      "",
      "[sshd-2200]",
      "enabled  = true",
      "filter   = sshd",
      "backend  = systemd",
      "port     = 2200",
      "ignoreip = 127.0.0.1/8 ::1 192.168.5.0/24",
      "",
    ]);
  });

  it("SSH forwards: named ssh, or to guest port 22; not UDP, not others", () => {
    const spec = compileFile({ vm: "web", file: "/l.yaml", text: limaYaml("expose ssh 22 as 2222", "expose ssh2 22 as 2223", "expose alt 2200 as 2224", "expose ssh-alt 22 as 2225", "expose http 80 as 8080", "expose sshudp 22/udp as 2226") }).spec;
    expect(sshGuestPorts(spec)).toEqual([22]);
    const named = compileFile({ vm: "web", file: "/l.yaml", text: limaYaml("expose ssh 2200 as 2222", "expose admin 22 as 2223") }).spec;
    expect(sshGuestPorts(named)).toEqual([22, 2200]);
    expect(sshGuestPorts(null)).toEqual([]);
  });

  it("no SSH forward: no jail (and one of ours from before goes); fail2ban need not be installed", () => {
    const plan = planHardening(facts({ sshPorts: [], fail2banInstalled: false, jail: "[sshd]\n" }));
    expect(plan).toMatchObject({ ok: true, notes: ["no SSH forward: no fail2ban jail"] });
    expect(plan.ok && plan.changes.find((c) => c.path === JAIL_FILE)).toMatchObject({ after: null });
  });

  it("refuses when fail2ban is missing and SSH is forwarded", () => {
    expect(planHardening(facts({ fail2banInstalled: false }))).toMatchObject({ ok: false, refusal: expect.stringMatching(/fail2ban is not installed/), hint: expect.stringMatching(/apt-get install -y fail2ban/) });
  });
});

describe("refusing to lock the user out", () => {
  it("no authorized key: missing, empty, comments only, or not a key", () => {
    for (const text of [null, "", "# no keys\n\n", "not a key\n"]) {
      const plan = planHardening(facts({ authorizedKeys: [{ file: "/home/lima.linux/.ssh/authorized_keys", text }] }));
      expect(plan).toMatchObject({ ok: false, refusal: expect.stringMatching(/lima has no authorized SSH key .* lock them out/) });
    }
  });

  it("counts keys with options before them, and every key type OpenSSH takes", () => {
    const text = `${KEY}\nfrom="10.0.0.0/8",no-pty ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x\necdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= y\nsk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t z\n# ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIcommented\n`;
    expect(authorizedKeys(text)).toHaveLength(4);
  });

  it("says when the only key is Lima's own: limactl shell keeps working, but nobody logs in from outside", () => {
    const only = planHardening(facts({ limaKey: `${KEY}\n` }));
    expect(only.ok && only.notes).toEqual([expect.stringMatching(/^the only key lima accepts is Lima's own .*cat >> ~\/\.ssh\/authorized_keys/)]);
    const mine = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE15IG93biBrZXkgZm9yIHRoZSB0ZXN0cw me@laptop";
    const both = planHardening(facts({ limaKey: `${KEY}\n`, authorizedKeys: [{ file: "/k", text: `${KEY}\n${mine}\n` }] }));
    expect(both.ok && both.notes).toEqual([]);
  });

  it("reads the files sshd reads: AuthorizedKeysFile with %h, %u, %% and paths relative to home", () => {
    expect(authorizedKeysFiles(".ssh/authorized_keys .ssh/authorized_keys2", "lima", "/home/lima.linux")).toEqual(["/home/lima.linux/.ssh/authorized_keys", "/home/lima.linux/.ssh/authorized_keys2"]);
    expect(authorizedKeysFiles("/etc/ssh/keys/%u %h/k%%", "lima", "/home/lima.linux")).toEqual(["/etc/ssh/keys/lima", "/home/lima.linux/k%"]);
    expect(authorizedKeysFiles("none", "lima", "/h")).toEqual([]);
  });
});

describe("backups and --undo", () => {
  it("keeps each original once: a second harden never overwrites the first's backup", () => {
    const first = changes(facts({ sshdConfig: `PermitRootLogin yes\n${UBUNTU_SSHD_CONFIG}` }));
    const manifest = { version: 1 as const, files: backupsFor(first, null) };
    expect(manifest.files).toEqual([
      { path: SSHD_CONFIG, existed: true },
      { path: SSHD_DROP_IN, existed: false },
      { path: JAIL_FILE, existed: false },
    ]);
    // A new SSH forward later: the jail changes again, its "original" is still "did not exist".
    const again = changes({ ...after(facts({ sshdConfig: `PermitRootLogin yes\n${UBUNTU_SSHD_CONFIG}` }), first), sshPorts: [22, 2200] });
    expect(again.map((c) => c.path)).toEqual([JAIL_FILE]);
    expect(backupsFor(again, manifest)).toEqual([]);
  });

  it("undo restores what existed and removes what harden created", () => {
    const manifest = { version: 1 as const, files: [{ path: SSHD_CONFIG, existed: true }, { path: SSHD_DROP_IN, existed: false }, { path: JAIL_FILE, existed: false }] };
    const current = new Map<string, string | null>([[SSHD_CONFIG, "#limawan harden: PermitRootLogin yes\n"], [SSHD_DROP_IN, "drop-in\n"], [JAIL_FILE, null]]);
    expect(planUndo(manifest, current, new Map([[SSHD_CONFIG, "PermitRootLogin yes\n"]]))).toEqual([
      { path: SSHD_CONFIG, before: "#limawan harden: PermitRootLogin yes\n", after: "PermitRootLogin yes\n" },
      { path: SSHD_DROP_IN, before: "drop-in\n", after: null },
    ]);
  });

  it("trusts a manifest only for the files harden writes", () => {
    expect(parseManifest(null)).toBeNull();
    expect(parseManifest(JSON.stringify({ version: 1, files: [{ path: SSHD_DROP_IN, existed: false }] }))).toEqual({ version: 1, files: [{ path: SSHD_DROP_IN, existed: false }] });
    expect(() => parseManifest(JSON.stringify({ version: 1, files: [{ path: "/etc/shadow", existed: true }] }))).toThrow(/damaged/);
    expect(() => parseManifest("{")).toThrow(/damaged/);
  });
});
