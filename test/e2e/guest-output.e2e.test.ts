// What a guest says, end to end through the built CLI: its output is read only up to a limit
// (a guest whose `ip` prints hundreds of MB costs its own VM, never root's `up` or the watch
// daemon), and its text reaches the terminal and bug reports escaped, never as terminal control
// sequences or Markdown. The guests are the stand-in's (test/standins/lib/guest-shell.mjs:
// `flood`, `listening`, its files).
import { execa, type ResultPromise } from "execa";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { UBUNTU_SSHD_CONFIG } from "../standins/lib/guest-fs.mjs";
import { createSandbox, type Sandbox, standin } from "./harness.js";

vi.setConfig({ testTimeout: 60_000 });

/** Forwarded through a lease: LimaWAN never asks its guest for the address. */
const GOOD = `networks:
  - lima: shared
x-limawan: |
  interface en0
  expose ssh 22 as 2201
`;
/** On socket_vmnet: bootpd leases it nothing, so its address comes from the guest's `ip`. */
const ASKED = (port: number) => `networks:
  - socket: /var/run/socket_vmnet
x-limawan: |
  interface en0
  expose ssh 22 as ${port}
`;
/** Past V8's longest string (about 512 MiB): read whole, it crashed the process (ERR_STRING_TOO_LONG). */
const HUNDREDS_OF_MB = 600 * 1024 * 1024;
const FLOODED_IP = "`limactl shell --workdir / bad ip -4 -j addr show dev lima0` printed more than 1 MiB on stdout";
const STACK_TRACE = /\n\s+at .+:\d+:\d+\)?\n/;

let sb: Sandbox;
let watcher: ResultPromise | null = null;
afterEach(async () => {
  watcher?.kill("SIGKILL");
  watcher = null;
  await sb?.cleanup();
});

async function anchorNat(): Promise<string> {
  return (await execa(standin("pfctl"), ["-a", "limawan", "-sn"], { env: sb.env, reject: false })).stdout;
}

/** `bad`'s guest answers `ip` with 600 MB of junk; `good` is an ordinary VM. */
async function floodingGuest(): Promise<void> {
  sb = await createSandbox();
  await sb.addInstance("good", GOOD);
  await sb.addInstance("bad", ASKED(2202));
  await Promise.all([sb.startVm("good"), sb.startVm("bad")]);
  await sb.setLease("bad", "192.168.105.50"); // what its guest would say, were it asked politely
  sb.setGuest("bad", { flood: { program: "ip", bytes: HUNDREDS_OF_MB } });
}

describe("a guest that prints hundreds of MB", () => {
  it("costs `up --all` only its own VM: the others are forwarded, and the error names the command (exit 1)", async () => {
    await floodingGuest();
    const up = await sb.run(["up", "--all"]);
    expect(up.exitCode, up.stderr).toBe(1);
    expect(up.stderr).toContain(`error: bad: ${FLOODED_IP}`);
    expect(up.stderr).not.toMatch(STACK_TRACE);
    expect(up.stderr).not.toContain("ERR_STRING_TOO_LONG");
    const nat = await anchorNat();
    expect(nat).toMatch(/port (= )?2201 .*-> 192\.168\.105\.2 port 22/);
    expect(nat).not.toMatch(/2202/);
  });

  it("fails `up` of that VM as a host command that failed (exit 4), changing nothing", async () => {
    await floodingGuest();
    const up = await sb.run(["up", "bad"]);
    expect(up.exitCode, up.stderr).toBe(4);
    expect(up.stderr).toContain(`error: ${FLOODED_IP}; LimaWAN stopped it and used none of it`);
    expect(up.stderr).not.toMatch(STACK_TRACE);
    expect((await anchorNat()).trim()).toBe("");
  });

  it("leaves the watch daemon running: it says why that VM is not forwarded and goes on forwarding the others", async () => {
    await floodingGuest();
    let log = "";
    watcher = sb.runBackground(["watch"], { env: { LIMAWAN_WATCH_INTERVAL_MS: "300" } });
    watcher.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    const until = async (check: () => Promise<boolean> | boolean, what: string) => {
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) if (await check()) return;
      throw new Error(`timed out waiting for: ${what}\n${log}`);
    };
    await until(async () => /port (= )?2201 /.test(await anchorNat()), "good forwarded");
    await until(() => log.includes(`bad: ${FLOODED_IP}`), "bad's refusal logged");
    // Several periodic checks later the daemon still runs, and a VM started now is forwarded.
    await sb.addInstance("late", ASKED(2203));
    await sb.startVm("late");
    await sb.setLease("late", "192.168.105.51");
    await until(async () => /port (= )?2203 .*-> 192\.168\.105\.51 port 22/.test(await anchorNat()), "late forwarded");
    expect(watcher.exitCode).toBeNull();
    expect(log).not.toMatch(STACK_TRACE);
    expect(log.split(`bad: ${FLOODED_IP}`).length - 1).toBe(1); // said once, not at every check
  });
});

/** A window title, then a clear screen: what a guest's text must never do to the user's terminal. */
const TITLE_AND_CLEAR = "\u001b]0;pwned\u0007\u001b[2J";
/** Any raw control character but the line layout's: what neither the terminal nor a report may get. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe("a guest's text shown to the user", () => {
  const web = `networks:
  - lima: shared
provision:
  - mode: system
    script: |
      apt-get install -y nginx fail2ban
x-limawan: |
  expose http 80 as 28080
`;

  // One VM for both readers of guest text (a VM costs as much as several runs).
  it("reaches diagnose's terminal lines and its --report escaped: no control sequence, no Markdown of the guest's; and harden --dry-run's diff of a guest file", async () => {
    sb = await createSandbox();
    await sb.addInstance("web", web);
    await sb.startVm("web");
    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    sb.setGuest("web", {
      listening: [
        { protocol: "tcp", address: TITLE_AND_CLEAR, port: 80 },
        { protocol: "tcp", address: "*[x](http://evil.example/)<img/src=x>`|", port: 80 },
      ],
    });
    const shown = await sb.run(["diagnose", "web"]);
    expect(shown.exitCode).toBe(1);
    expect(shown.stdout + shown.stderr).not.toMatch(RAW_CONTROL);
    expect(shown.stdout).toContain("tcp port 80 listens on \\x1b]0;pwned\\x07\\x1b[2J:80, *[x](http://evil.example/)<img/src=x>`|:80, not on 192.168.105.2");

    const file = path.join(sb.paths.root, "home", "report.md");
    const reported = await sb.run(["diagnose", "web", "--report", file]);
    expect(reported.exitCode).toBe(1);
    const report = readFileSync(file, "utf8");
    expect(report).not.toMatch(RAW_CONTROL);
    const row = report.split("\n").find((line) => line.startsWith("| FAIL | guest service |"))!;
    // Shown as written, inert: backslash escapes for all Markdown would read, the escapes' own backslashes doubled.
    expect(row).toContain("listens on \\\\x1b\\]0;pwned\\\\x07\\\\x1b\\[2J:80, \\*\\[x\\](http://evil.example/)\\<img/src=x\\>\\`\\|:80");
    expect(row.split(/(?<!\\)\|/)).toHaveLength(5); // | verdict | step | detail |: the guest's `|` ends no cell

    sb.setGuestFile("web", "/etc/ssh/sshd_config", `# ${TITLE_AND_CLEAR}\nPasswordAuthentication yes\n${UBUNTU_SSHD_CONFIG}`);
    const dry = await sb.run(["harden", "web", "--dry-run"]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(" # \\x1b]0;pwned\\x07\\x1b[2J\n-PasswordAuthentication yes\n");
    expect(dry.stdout + dry.stderr).not.toMatch(RAW_CONTROL);
  });
});
