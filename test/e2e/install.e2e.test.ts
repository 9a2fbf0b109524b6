// What install and uninstall may replace, remove and put back: only LimaWAN's own copy (its
// marker, lib/paths.json) in LIMAWAN_LIBEXEC_DIR.
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { execa } from "execa";
import { createSandbox, standin, type Sandbox } from "./harness.js";

vi.setConfig({ testTimeout: 90_000 });

let sb: Sandbox;
beforeEach(async () => {
  sb = await createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const output = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

describe("install and uninstall touch only LimaWAN's own copy", () => {
  it("refuse to replace or remove a LIMAWAN_LIBEXEC_DIR that is not LimaWAN's copy, and change nothing else", async () => {
    const dir = sb.paths.libexecDir;
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    writeFileSync(path.join(dir, "precious.db"), "someone's data");
    const refused = new RegExp(`${dir} is not a copy of LimaWAN \\(it has no lib/paths\\.json\\); refusing to replace it`);
    const pfConf = readFileSync(sb.paths.pfConf, "utf8");

    for (const args of [["install", "--dry-run"], ["install"]]) {
      const r = await sb.run(args);
      expect(r.exitCode, args.join(" ")).toBe(1);
      expect(r.stderr).toMatch(refused);
    }
    expect(readFileSync(path.join(dir, "precious.db"), "utf8")).toBe("someone's data");
    // Refused first: no daemon, pf.conf as it was.
    expect(sb.launchctlState().services).toEqual({});
    expect(readFileSync(sb.paths.pfConf, "utf8")).toBe(pfConf);

    const un = await sb.run(["uninstall"]);
    expect(un.exitCode, un.stderr).toBe(0);
    expect(un.stderr).toMatch(new RegExp(`left ${dir} as it is: it is not a copy of LimaWAN`));
    expect(readFileSync(path.join(dir, "precious.db"), "utf8")).toBe("someone's data");

    // A marker that is a link is no marker.
    mkdirSync(path.join(dir, "lib"));
    symlinkSync(path.join(sb.paths.root, "elsewhere.json"), path.join(dir, "lib", "paths.json"));
    writeFileSync(path.join(sb.paths.root, "elsewhere.json"), JSON.stringify({ stateDir: "/x" }));
    expect((await sb.run(["install"])).stderr).toMatch(refused);
    expect(existsSync(path.join(dir, "precious.db"))).toBe(true);
  });

  it("replace and remove LimaWAN's own copy (or an empty directory), and --dry-run names it", async () => {
    const dir = sb.paths.libexecDir;
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const first = await sb.run(["install"]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(output(first)).not.toMatch(/refusing/);
    expect(existsSync(path.join(dir, "lib", "paths.json"))).toBe(true);

    const dry = await sb.run(["install", "--dry-run"]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(output(dry)).toMatch(new RegExp(`would replace LimaWAN \\S+'s copy in ${dir}`));
    const again = await sb.run(["install"]);
    expect(again.exitCode, again.stderr).toBe(0);
    // Nothing left beside it: neither the copy being built nor the old one.
    expect(readdirSync(path.dirname(dir)).filter((n) => n.startsWith(path.basename(dir)))).toEqual([path.basename(dir)]);

    const dryUn = await sb.run(["uninstall", "--dry-run"]);
    expect(output(dryUn)).toMatch(new RegExp(`would remove LimaWAN \\S+'s copy in ${dir}`));
    expect((await sb.run(["uninstall"])).exitCode).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });
});

describe("uninstall and IP forwarding", () => {
  const WEB = "networks:\n  - lima: shared\nx-limawan: |\n  interface en0\n  expose http 80 as 8080\n";
  const forwarding = async () => (await execa(standin("sysctl"), ["-n", "net.inet.ip.forwarding"], { env: sb.env })).stdout;

  it("leaves forwarding on, and says so, while vmnet's shared networks NAT through it", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    expect(await forwarding()).toBe("0");
    expect((await sb.run(["install"])).exitCode).toBe(0);
    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    expect(await forwarding()).toBe("1"); // LimaWAN turned it on, and recorded the 0 it found
    sb.startInternetSharing(); // a shared-mode VM started since
    const un = await sb.run(["uninstall"]);
    expect(un.exitCode, un.stderr).toBe(0);
    expect(un.stderr).toMatch(/left net\.inet\.ip\.forwarding at 1, though LimaWAN turned it on: vmnet's shared networks are running/);
    expect(un.stderr).not.toMatch(/restored net\.inet\.ip\.forwarding/);
    expect(await forwarding()).toBe("1");
    expect(sb.sysctlCalls().filter((c) => c.argv.join(" ") === "-w net.inet.ip.forwarding=0")).toEqual([]);
  });
});
