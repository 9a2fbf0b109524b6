// The plugin contract, with the real limactl (LIMA-FACTS.md §1, §9): discovery on PATH, the
// description Lima finds in a #! file, arguments and exit codes passed through, root refused.
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LIMA_USER, REAL_LIMACTL, RealLimaSandbox, SKIPPED_BECAUSE, STANDIN_LIMACTL, tierName } from "./real-lima.js";

vi.setConfig({ testTimeout: 60_000 });

// The one line a clone without ../shared prints: the tier is skipped, and why.
if (SKIPPED_BECAUSE) console.log(`real-lima tier skipped: ${SKIPPED_BECAUSE}`);

describe.skipIf(!REAL_LIMACTL)(tierName("the real limactl runs LimaWAN as its plugin"), () => {
  let sb: RealLimaSandbox;
  beforeEach(() => {
    sb = new RealLimaSandbox();
  });
  afterEach(async () => {
    await sb.cleanup();
  });

  it("lists limawan under its plugins, with the description of its #! file", async () => {
    const help = await sb.limactl(["--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^Available Plugins \(Experimental\):\n {2}limawan +Expose Lima VM ports to the internet through macOS PF$/m);
    const info = JSON.parse(String((await sb.limactl(["info"])).stdout)) as { plugins: Array<{ name: string; path: string; description?: string }> };
    expect(info.plugins).toContainEqual({ name: "limawan", path: `${sb.root}/plugins/limactl-limawan`, description: "Expose Lima VM ports to the internet through macOS PF" });
  });

  it("passes arguments, output and exit codes through", async () => {
    const version = await sb.limactl(["limawan", "--version"]);
    expect([version.exitCode, version.stdout]).toEqual([0, expect.stringMatching(/^limactl-limawan \d+\.\d+\.\d+/)]);
    const unknown = await sb.limactl(["limawan", "frobnicate"]);
    expect(unknown.exitCode).toBe(2); // LimaWAN's usage error, not limactl's 1
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    const noSuch = await sb.limactl(["limawan", "status", "nope"]);
    expect([noSuch.exitCode, String(noSuch.stderr).split("\n")[0]]).toEqual([1, "error: no Lima instance named `nope`"]);
  });

  it("keeps a terminal a terminal: the plugin sees a TTY through limactl, and a pipe as a pipe", async () => {
    // util-linux script(1) gives limactl a pseudo-terminal; LimaWAN colours its errors only on one.
    const env = { NO_COLOR: "" };
    const pty = await sb.exec("script", ["-qfec", `${REAL_LIMACTL} limawan status nope`, "/dev/null"], { env });
    expect(pty.stdout).toMatch(/\x1b\[31m\x1b\[1merror:\x1b\[22m\x1b\[39m no Lima instance named `nope`/);
    const piped = await sb.limactl(["limawan", "status", "nope"], { env });
    expect(piped.stderr).toMatch(/^error: no Lima instance named `nope`$/m);
  });

  it.runIf(LIMA_USER !== null)("refuses root, before anything else, as the stand-in does", async () => {
    const real = await execa(REAL_LIMACTL!, ["--version"], { reject: false, env: sb.env, extendEnv: false });
    const standin = await execa(STANDIN_LIMACTL, ["--version"], { reject: false, env: sb.env, extendEnv: false });
    expect([real.exitCode, real.stdout, real.stderr]).toEqual([1, "", "limactl: must not run as the root user"]);
    expect([standin.exitCode, standin.stdout, standin.stderr]).toEqual([real.exitCode, real.stdout, real.stderr]);
  });
});
