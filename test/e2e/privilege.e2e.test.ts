// Privilege as it is on a Mac (LIMA-FACTS.md §9): limactl refuses root, so the user types
// `limactl limawan up web` and LimaWAN raises its own privileges through sudo. These tests run
// the built CLI as the VM user, with the sudo stand-in (test/standins/sudo/) on PATH: it really
// runs the command as root, with sudo's reset environment, and refuses what sudo refuses.
import { readFileSync, statSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createSandbox, type Sandbox, type SandboxOptions } from "./harness.js";

vi.setConfig({ testTimeout: 30_000 });

const WEB = `networks:
  - lima: shared
x-limawan: |
  interface en0
  expose http 80 as 8080
`;

let sb: Sandbox;
async function sandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  sb = await createSandbox(options);
  await sb.addInstance("web", WEB);
  await sb.startVm("web");
  return sb;
}
afterEach(async () => {
  await sb?.cleanup();
});

const anchorNat = async () => JSON.stringify(await sb.pfState());
const runsAsRoot = process.getuid?.() === 0;

describe.runIf(runsAsRoot)("the user types `limactl limawan …`", () => {
  it("up and down raise their privileges through sudo, passing LIMA_HOME and the overrides as arguments", async () => {
    await sandbox();
    const up = await sb.runAsUser(["up", "web"]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await anchorNat()).toMatch(/port 8080 tag/);
    const [call] = sb.sudoCalls();
    expect(call!.uid).toBe(sb.vmUser!.uid);
    // Absolute node and program, no VAR=value (that needs SETENV), the paths sudo would drop as --env.
    // No terminal in a test: `sudo -n`.
    expect(call!.argv.slice(0, 4)).toEqual(["-n", "--", process.execPath, expect.stringMatching(/\/plugin\/bin\/limactl-limawan$/)]);
    expect(call!.argv.slice(0, call!.argv.indexOf(process.execPath)).some((a) => /^[A-Za-z_]+=/.test(a))).toBe(false);
    expect(call!.argv).toContain(`LIMA_HOME=${sb.paths.limaHome}`);
    expect(call!.argv).toContain(`LIMAWAN_STATE_DIR=${sb.paths.stateDir}`);
    expect(call!.argv.slice(-2)).toEqual(["up", "web"]);
    // Written by root, for root only.
    const state = statSync(`${sb.paths.stateDir}/state.json`);
    expect([state.uid, state.mode & 0o777]).toEqual([0, 0o600]);

    const down = await sb.runAsUser(["down", "web"]);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await anchorNat()).not.toMatch(/port 8080 tag/);
    expect(sb.sudoCalls()).toHaveLength(2);
  });

  it("works on a managed Mac whose sudoers sets a secure_path without Homebrew (no node on it)", async () => {
    await sandbox({ sudoers: { securePath: true } });
    const up = await sb.runAsUser(["up", "web"]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await anchorNat()).toMatch(/port 8080 tag/);
  });

  it("without a terminal and without a cached password: says what to do, changes nothing", async () => {
    await sandbox({ sudoers: { cachedCredential: false } });
    const up = await sb.runAsUser(["up", "web"]);
    expect(up.exitCode).toBe(3);
    expect(up.stderr).toMatch(/`limactl limawan up` needs root, and sudo cannot ask for a password here \(no terminal\)/);
    expect(up.stderr).toMatch(/Run it in a terminal/);
    expect(sb.sudoCalls()[0]!.argv[0]).toBe("-n");
    expect(await anchorNat()).not.toMatch(/8080/);
  });

  it("--dry-run never asks sudo, and plan/check/status need no root", async () => {
    await sandbox();
    const dry = await sb.runAsUser(["up", "web", "--dry-run"]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would run: pfctl -a limawan -f -/);
    expect(dry.stderr).toMatch(/pfctl needs root: this dry run assumes nothing of LimaWAN's is applied yet/);
    expect((await sb.runAsUser(["plan", "web"])).exitCode).toBe(0);
    expect((await sb.runAsUser(["check", "web"])).exitCode).toBe(0);
    expect((await sb.runAsUser(["status"])).exitCode).toBe(0);
    expect(sb.sudoCalls()).toEqual([]);
  });

  it("status --sudo reads PF too", async () => {
    await sandbox();
    expect((await sb.runAsUser(["up", "web"])).exitCode).toBe(0);
    const status = await sb.runAsUser(["status", "--sudo"]);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/PF: enabled/);
    expect(status.stdout).toMatch(/http .* applied/);
  });

  it("no message anywhere tells the user to run `sudo limactl …` (limactl refuses root)", async () => {
    await sandbox({ sudoers: { cachedCredential: false } });
    const outputs = [await sb.runAsUser(["up", "web"]), await sb.runAsUser(["up"]), await sb.runAsUser(["down"]), await sb.runAsUser(["status"]), await sb.runAsUser(["doctor"])];
    for (const r of outputs) expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/sudo (\S*\/)?limactl[ "]/);
    expect(readFileSync(sb.paths.sudoers, "utf8")).toMatch(/"cachedCredential": false/);
  });
});
