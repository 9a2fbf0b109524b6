// bin/limactl answers the same through the VM user's stand-in server (MACOS_STANDIN_SERVER, as the e2e
// harness runs it) as run on its own by node: same output, exit codes and files; its commands that wait or
// stream (start, stop) are handed back to node. The pfctl family and launchctl: server.test.ts.
import { execa } from "execa";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createSandbox, STANDIN_BIN, type Sandbox } from "../e2e/harness.js";

// limactl, a user's program: the VM user's calls go to the VM user's server (createSandbox starts
// it). The same calls in two sandboxes, one with no server; what differs between two sandboxes
// (their paths, clocks, PIDs, ports, and the MACs derived from the paths) is masked.
const WEB_YAML = "networks:\n  - lima: shared\n";
const DB_YAML = "base: template://docker\nnetworks:\n  - lima: shared\nx-limawan:\n  forwards: [8080]\n";
const LIMACTL_CALLS: { argv: string[]; input?: string }[] = [
  { argv: ["--version"] },
  { argv: ["list"] },
  { argv: ["validate", "ROOT/web.yaml"] },
  { argv: ["validate", "ROOT/bad.yaml"] },
  { argv: ["create", "--name", "web", "ROOT/web.yaml"] },
  { argv: ["create", "--name", "db", "-"], input: DB_YAML },
  { argv: ["create", "--name", "web", "ROOT/web.yaml"] },
  { argv: ["list", "--json"] },
  { argv: ["list"] },
  { argv: ["list", "--format", "{{.Name}} {{.Status}} {{.Dir}}"] },
  { argv: ["list", "web", "nosuch"] },
  { argv: ["--log-format", "json", "list", "nosuch"] },
  { argv: ["shell", "web", "id", "-un"] },
  { argv: ["start", "web"] },
  { argv: ["shell", "--workdir", "/", "web", "ip", "-4", "-j", "addr", "show", "dev", "lima0"] },
  { argv: ["shell", "web", "id", "-un"] },
  { argv: ["shell", "web", "sudo", "install", "-m", "644", "/dev/stdin", "/etc/limawan-test"], input: "written through stdin\n" },
  { argv: ["shell", "web", "install", "-m", "644", "/dev/stdin", "/etc/limawan-test"], input: "not root\n" },
  { argv: ["shell", "web", "cat", "/etc/limawan-test"] },
  { argv: ["shell", "web", "frobnicate"] },
  { argv: ["list", "--json", "web"] },
  { argv: ["delete", "web"] },
  { argv: ["stop", "web"] },
  { argv: ["delete", "db", "nosuch"] },
  { argv: ["list", "-q"] },
  { argv: ["frobnicate"] },
];

async function limactlSession(sb: Sandbox, served: boolean) {
  const { root } = sb.paths;
  writeFileSync(path.join(root, "web.yaml"), WEB_YAML, { mode: 0o644 });
  writeFileSync(path.join(root, "bad.yaml"), "networks:\n  - lima: nosuch\n", { mode: 0o644 });
  const mask = (text: string) =>
    text
      .replaceAll(root, "ROOT")
      .replace(/time="[^"]*"|"time":"[^"]*"/g, "TIME")
      .replace(/("(?:hostAgentPID|driverPID|sshLocalPort)":)\d+|(127\.0\.0\.1:)\d+|(process )\d+|([Pp]ort:? )\d+/g, "$1$2$3$4N")
      .replace(/52:55:55(:[0-9a-f]{2}){3}/g, "MAC");
  const results = [];
  for (const call of LIMACTL_CALLS) {
    const r = await sb.limactl(call.argv.map((a) => a.replace("ROOT", root)), { input: call.input ?? "", env: served ? {} : { MACOS_STANDIN_SERVER: "" } });
    results.push({ argv: call.argv.join(" "), exitCode: r.exitCode, stdout: mask(String(r.stdout)), stderr: mask(String(r.stderr)) });
  }
  return { results, files: ["web/lima.yaml", "web/lima-version"].map((file) => readFileSync(path.join(sb.paths.limaHome, file), "utf8")) };
}

describe("limactl through the stand-in server", () => {
  let sandboxes: Sandbox[] = [];
  afterAll(async () => {
    for (const sb of sandboxes) await sb.cleanup();
  });

  it("answers the short commands as node running it on its own does, and hands back those that wait", { timeout: 120_000 }, async () => {
    sandboxes = [await createSandbox(), await createSandbox()];
    const [aloneBox, servedBox] = sandboxes as [Sandbox, Sandbox];
    const alone = await limactlSession(aloneBox, false);
    const served = await limactlSession(servedBox, true);
    expect(served.results).toEqual(alone.results);
    expect(served.files).toEqual(alone.files);
    // The refusals are refusals, the waiting commands worked.
    expect(alone.results.map((r) => r.exitCode)).toEqual([0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1]);
    expect(alone.results.find((r) => r.argv.startsWith("shell web cat"))!.stdout).toBe("written through stdin");
  });

  it("sends the VM user's calls to the VM user's server; root's limactl is refused either way", async () => {
    const sb = sandboxes[1] ?? (await createSandbox());
    const servers = String(sb.env.MACOS_STANDIN_SERVER).split(",");
    const vmUid = String(sb.vmUser?.uid ?? process.getuid?.());
    const mine = servers.find((s) => s.endsWith(`:${vmUid}`))!;
    const [port, , uid] = mine.split(":");
    const wrongToken = servers.map((s) => (s === mine ? `${port}:not-the-token:${uid}` : s)).join(",");
    const refused = await sb.limactl(["--version"], { env: { MACOS_STANDIN_SERVER: wrongToken } });
    expect(refused.exitCode).toBe(70);
    expect(refused.stderr).toMatch(/gave no answer/);
    if (sb.isRoot) {
      for (const server of [String(sb.env.MACOS_STANDIN_SERVER), ""]) {
        const root = await execa(path.join(STANDIN_BIN, "limactl"), ["--version"], { reject: false, env: { ...sb.env, MACOS_STANDIN_SERVER: server } });
        expect([root.exitCode, root.stdout, root.stderr]).toEqual([1, "", "limactl: must not run as the root user"]);
      }
    }
  });
});
