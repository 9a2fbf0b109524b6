// The stand-in guest behind `limactl shell`: each command answers in its real tool's format,
// runs as the Lima user unless given sudo, and anything it does not model is refused.
import { describe, expect as globalExpect, test as base, vi } from "vitest";
import { createSandbox, type Sandbox } from "../e2e/harness.js";

vi.setConfig({ testTimeout: 30_000 });

const WEB = `networks:
  - lima: shared
`;

const test = base.extend<{ sb: Sandbox }>({
  sb: async ({}, use) => {
    const sb = await createSandbox();
    try {
      await sb.addInstance("web", WEB);
      await sb.startVm("web");
      await use(sb);
    } finally {
      await sb.cleanup();
    }
  },
});

async function shell(sb: Sandbox, args: string[], input?: string): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const r = await sb.limactl(["shell", "--workdir", "/", "web", ...args], input === undefined ? {} : { input });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe.concurrent("the stand-in guest's network", () => {
  test("ip -4 -j route show default: lima0's DHCP route first (metric 100), then eth0's (200)", async ({ sb, expect }) => {
    const r = await shell(sb, ["ip", "-4", "-j", "route", "show", "default"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { dst: "default", gateway: "192.168.105.1", dev: "lima0", protocol: "dhcp", prefsrc: "192.168.105.2", metric: 100, flags: [] },
      { dst: "default", gateway: "192.168.5.2", dev: "eth0", protocol: "dhcp", prefsrc: "192.168.5.15", metric: 200, flags: [] },
    ]);
  });

  test("lima0 without IPv4 (Lima issue 3100): no address, and no default route through it", async ({ sb, expect }) => {
    sb.setGuest("web", { withoutIpv4: ["lima0"] });
    const addr = await shell(sb, ["ip", "-4", "-j", "addr", "show", "dev", "lima0"]);
    expect(JSON.parse(addr.stdout)).toEqual([]);
    const route = await shell(sb, ["ip", "-4", "-j", "route", "show", "default"]);
    expect((JSON.parse(route.stdout) as Array<{ dev: string }>).map((r) => r.dev)).toEqual(["eth0"]);
  });

  test("ss -Hltun: the daemons' listening sockets with ss's columns; `listening` replaces them", async ({ sb, expect }) => {
    const r = await shell(sb, ["ss", "-Hltun"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/));
    expect(rows).toContainEqual(["tcp", "LISTEN", "0", "4096", "0.0.0.0:22", "0.0.0.0:*"]);
    expect(rows).toContainEqual(["udp", "UNCONN", "0", "0", "127.0.0.53%lo:53", "0.0.0.0:*"]);
    sb.setGuest("web", { listening: [{ protocol: "tcp", address: "127.0.0.1", port: 80 }] });
    const only = await shell(sb, ["ss", "-H", "-l", "-t", "-n"]);
    expect(only.stdout.trim().split(/\s+/)).toEqual(["LISTEN", "0", "511", "127.0.0.1:80", "0.0.0.0:*"]);
  });

  test("refuses what it does not model", async ({ sb, expect }) => {
    for (const args of [["ip", "route"], ["ss", "-tan"], ["ip", "-6", "-j", "route", "show", "default"], ["sh", "-c", "true"]]) {
      const r = await shell(sb, args);
      expect(r.exitCode, args.join(" ")).toBe(1);
      expect(r.stderr).toMatch(/the stand-in guest cannot run/);
    }
  });
});

describe.concurrent("the stand-in guest's files and services", () => {
  test("the first boot makes an Ubuntu-like disk: sshd_config with its Include, Lima's key, the user in passwd", async ({ sb, expect }) => {
    const user = (await shell(sb, ["id", "-un"])).stdout.trim();
    const passwd = await shell(sb, ["getent", "passwd", user]);
    expect(passwd.stdout).toMatch(new RegExp(`^${user}:x:\\d+:\\d+:[^:]*:/home/${user}\\.linux:/bin/bash$`));
    expect(sb.guestFile("web", "/etc/ssh/sshd_config")).toMatch(/^Include \/etc\/ssh\/sshd_config\.d\/\*\.conf$/m);
    expect(sb.guestFile("web", `/home/${user}.linux/.ssh/authorized_keys`)).toMatch(/^ssh-ed25519 /);
    expect((await shell(sb, ["test", "-x", "/usr/bin/fail2ban-client"])).exitCode).toBe(1);
    // The disk outlives a restart, like a VM's.
    sb.setGuestFile("web", "/etc/motd", "kept\n");
    await sb.stopVm("web");
    await sb.startVm("web");
    expect(sb.guestFile("web", "/etc/motd")).toBe("kept\n");
  });

  test("writes need sudo; install from stdin, mv and rm change the disk", async ({ sb, expect }) => {
    const denied = await shell(sb, ["install", "-m", "644", "/dev/stdin", "/etc/x.conf"], "x\n");
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr).toMatch(/Permission denied/);
    expect((await shell(sb, ["sudo", "install", "-D", "-m", "644", "/dev/stdin", "/etc/new/x.tmp"], "hello\n")).exitCode).toBe(0);
    expect((await shell(sb, ["sudo", "mv", "-f", "/etc/new/x.tmp", "/etc/new/x.conf"])).exitCode).toBe(0);
    expect(sb.guestFile("web", "/etc/new/x.conf")).toBe("hello\n");
    expect((await shell(sb, ["cat", "/etc/new/x.conf"])).stdout).toBe("hello"); // execa strips the final newline
    expect((await shell(sb, ["sudo", "rm", "-f", "/etc/new/x.conf"])).exitCode).toBe(0);
    const gone = await shell(sb, ["cat", "/etc/new/x.conf"]);
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toBe("cat: /etc/new/x.conf: No such file or directory");
  });

  test("sshd -T: the first value obtained wins, drop-ins in lexical order where the Include stands", async ({ sb, expect }) => {
    const effective = async () => Object.fromEntries((await shell(sb, ["sudo", "sshd", "-T"])).stdout.trim().split("\n").map((l) => [l.split(" ")[0], l.slice(l.indexOf(" ") + 1)]));
    expect(await effective()).toMatchObject({ passwordauthentication: "no", kbdinteractiveauthentication: "no", permitrootlogin: "without-password" });
    sb.setGuestFile("web", "/etc/ssh/sshd_config.d/10-open.conf", "PasswordAuthentication yes\nPermitRootLogin yes\n");
    expect(await effective()).toMatchObject({ passwordauthentication: "yes", permitrootlogin: "yes" });
    expect((await shell(sb, ["sshd", "-T"])).exitCode).toBe(1); // host keys are root's
  });

  test("sshd -t and a reload refuse a bad configuration; a good reload records what sshd loaded", async ({ sb, expect }) => {
    sb.setGuestFile("web", "/etc/ssh/sshd_config.d/10-bad.conf", "PasswordAuthentication maybe\n");
    const check = await shell(sb, ["sudo", "sshd", "-t"]);
    expect(check.exitCode).toBe(255);
    expect(check.stderr).toMatch(/10-bad\.conf line 1: unsupported option "maybe"/);
    const reload = await shell(sb, ["sudo", "systemctl", "try-reload-or-restart", "ssh"]);
    expect(reload.exitCode).toBe(1);
    expect(reload.stderr).toMatch(/Job for ssh\.service failed/);
    sb.setGuestFile("web", "/etc/ssh/sshd_config.d/10-bad.conf", null);
    expect((await shell(sb, ["systemctl", "try-reload-or-restart", "ssh"])).exitCode).toBe(1); // not root
    expect((await shell(sb, ["sudo", "systemctl", "try-reload-or-restart", "ssh"])).exitCode).toBe(0);
    expect(sb.guestServices("web").ssh).toMatchObject({ active: true, reloads: 1, config: { passwordauthentication: "no" } });
  });

  test("fail2ban, once provisioned, loads the enabled jails and refuses an unknown filter", async ({ sb, expect }) => {
    await sb.addInstance("f2b", `networks:\n  - lima: shared\nprovision:\n  - mode: system\n    script: |\n      apt-get install -y fail2ban nginx\n`);
    await sb.startVm("f2b");
    const run = async (args: string[]) => {
      const r = await sb.limactl(["shell", "--workdir", "/", "f2b", ...args]);
      return { exitCode: r.exitCode, stdout: String(r.stdout) };
    };
    expect((await run(["test", "-x", "/usr/bin/fail2ban-client"])).exitCode).toBe(0);
    expect((await run(["sudo", "systemctl", "restart", "fail2ban"])).exitCode).toBe(0);
    expect(sb.guestServices("f2b").fail2ban!.jails).toEqual([{ name: "sshd", filter: "sshd", port: "ssh", backend: "%(sshd_backend)s", ignoreip: "" }]);
    sb.setGuestFile("f2b", "/etc/fail2ban/jail.d/x.conf", "[x]\nenabled = true\nfilter = nope\n");
    expect((await run(["sudo", "systemctl", "restart", "fail2ban"])).exitCode).toBe(1);
    expect((await run(["ss", "-Hltn"])).stdout).toMatch(/0\.0\.0\.0:80 /);
  });
});
