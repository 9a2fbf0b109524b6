// doctor's look at what else on the Mac could keep a forward from working: another tool's
// rules ahead of LimaWAN's, `set skip` on the WAN interface, Lima's own portForwards on the
// same host port. Each is set up in the stand-ins as the real thing would leave it.
import { chmodSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createSandbox, type Sandbox } from "./harness.js";

vi.setConfig({ testTimeout: 60_000 });

const web = (extra = "") => `networks:
  - lima: shared
${extra}x-limawan: |
  interface en0
  expose ssh 22 as 2222
  expose http 80 as 8080
`;

let sb: Sandbox;
beforeEach(async () => {
  sb = await createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

interface Check { name: string; level: string; detail: string; hint?: string }
async function doctor(): Promise<{ exitCode: number | undefined; checks: Check[] }> {
  const result = await sb.run(["doctor", "--json"]);
  return { exitCode: result.exitCode, checks: (JSON.parse(result.stdout) as { checks: Check[] }).checks };
}
const about = (checks: Check[], text: RegExp) => checks.filter((c) => text.test(c.detail));

describe("doctor: what else could keep a forward from working", () => {
  it("says nothing is in the way on a clean host", async () => {
    await sb.addInstance("web", web());
    expect((await sb.run(["install"])).exitCode).toBe(0);
    const { exitCode, checks } = await doctor();
    expect(checks.find((c) => c.name === "other rules")).toMatchObject({ level: "ok" });
    expect(checks.filter((c) => c.level === "fail")).toEqual([]);
    expect(exitCode).toBe(0);
  });

  // Three rules of other tools at once, each where a different listing shows it (an anchor of
  // the main ruleset, a child of com.apple/*, the main ruleset itself); one doctor run reads them all.
  it("names another tool's anchor that redirects a forwarded host port before LimaWAN's, a child a service added inside com.apple/* with an `rdr pass`, and a quick rule in the main ruleset ahead of LimaWAN's filter anchor", async () => {
    await sb.addInstance("web", web());
    expect((await sb.run(["install"])).exitCode).toBe(0);
    sb.editPfState((state) => {
      const at = (state.main.translation as string[]).findIndex((r) => r.startsWith('rdr-anchor "limawan"'));
      (state.main.translation as string[]).splice(at, 0, 'rdr-anchor "vpn.tool" all');
      (state.main.filtering as string[]).push('anchor "vpn.tool" all'); // after ours: its filter rules come too late to matter
      state.anchors["vpn.tool"] = {
        translation: ["rdr pass on en0 inet proto tcp from any to any port = 8080 -> 127.0.0.1 port 9000"],
        filtering: ["pass in quick on en0 inet proto tcp from any to any port = 22 flags S/SA keep state"],
        tables: {},
      };
      state.anchors["com.apple/300.Sharing"] = { translation: ["rdr pass on en0 inet proto tcp from any to any port 2222 -> 127.0.0.1 port 22"], filtering: [], tables: {} };
      const filterAt = (state.main.filtering as string[]).findIndex((r) => r.startsWith('anchor "limawan"'));
      (state.main.filtering as string[]).splice(filterAt, 0, "block drop in quick on en0 inet proto tcp from any to any port = 22");
    });
    const { checks } = await doctor();
    const found = about(checks, /anchor "vpn.tool"/);
    expect(found).toHaveLength(1); // the quick pass for 22 sits in an anchor evaluated after ours: nothing for web/ssh
    expect(found[0]).toMatchObject({ name: "other rules", level: "warn" });
    expect(found[0]!.detail).toMatch(/web\/http: anchor "vpn.tool" redirects host port 8080 before LimaWAN can/);

    expect(about(checks, /com\.apple\/300\.Sharing/)).toEqual([expect.objectContaining({ level: "warn", detail: expect.stringMatching(/^web\/ssh: anchor "com.apple\/300.Sharing" redirects host port 2222/), hint: expect.stringMatching(/rdr pass/) })]);

    expect(about(checks, /quick rule/).map((c) => c.detail)).toEqual([expect.stringMatching(/^web\/ssh: the main ruleset has a quick rule for its ports ahead of LimaWAN's: `block drop in quick on en0/)]);
  });

  it("fails when PF skips the WAN interface a forward uses", async () => {
    await sb.addInstance("web", web());
    sb.editPfState((state) => {
      state.skip = ["lo0", "en0"];
    });
    const { exitCode, checks } = await doctor();
    expect(about(checks, /PF skips en0/)).toEqual([expect.objectContaining({ level: "fail", hint: expect.stringMatching(/set skip on en0/) })]);
    expect(exitCode).toBe(1);
  });

  it("warns when the WAN interface is a bridge member (Internet Sharing to it), and passes when it is not", async () => {
    await sb.addInstance("web", web());
    expect((await doctor()).checks.filter((c) => c.name === "WAN interfaces")).toEqual([expect.objectContaining({ level: "ok", detail: "en0: in no bridge" })]);
    const result = await sb.run(["doctor", "--json"], { env: { IFCONFIG_STANDIN_MEMBERS: "bridge100=vmenet0+en0" } });
    const checks = (JSON.parse(result.stdout) as { checks: Check[] }).checks;
    expect(checks.filter((c) => c.name === "WAN interfaces")).toEqual([expect.objectContaining({ level: "warn", detail: expect.stringMatching(/^en0 is a member of bridge100/), hint: expect.stringMatching(/Internet Sharing/) })]);
  });

  it("fails when Lima's own portForwards binds a forwarded host port beyond loopback", async () => {
    await sb.addInstance("web", web(`portForwards:
  - guestPort: 8080
    hostIP: 0.0.0.0
  - guestPort: 22
    hostPort: 2222
  - guestPort: 80
    hostPort: 80
    ignore: true
`));
    const { exitCode, checks } = await doctor();
    const found = about(checks, /Lima's own portForwards/);
    expect(found).toEqual([expect.objectContaining({ name: "instance web", level: "fail" })]);
    expect(found[0]!.detail).toMatch(/web\/http: Lima's own portForwards \(lima\.yaml line 4\) also binds host port 8080 on 0\.0\.0\.0/);
    expect(exitCode).toBe(1); // 127.0.0.1:2222 is no clash: the Mac uses Lima's, the WAN LimaWAN's
  });

  it("reports the root-owned copy: missing, then root's alone, then failed when a file of it is not", async () => {
    const copy = () => doctor().then((d) => d.checks.find((c) => c.name === "root's copy"));
    expect(await copy()).toMatchObject({ level: "warn", detail: `not installed in ${sb.paths.libexecDir}` });
    expect((await sb.run(["install"])).exitCode).toBe(0);
    expect(await copy()).toMatchObject({ level: "ok", detail: expect.stringMatching(/limactl-limawan \(\S+\), root's alone$/) });
    chmodSync(`${sb.paths.libexecDir}/lib/main.cjs`, 0o666);
    const { exitCode, checks } = await doctor();
    expect(checks.find((c) => c.name === "root's copy")).toMatchObject({ level: "fail", detail: expect.stringMatching(/lib\/main\.cjs can be written by anyone/) });
    expect(exitCode).toBe(1);
  });

  it("fails a path root acts on that a user could change, and says which", async () => {
    await sb.addInstance("web", web());
    expect((await sb.run(["install"])).exitCode).toBe(0);
    expect((await doctor()).checks.find((c) => c.name === "root-owned paths")).toMatchObject({ level: "ok", detail: "root's alone: state dir, pf.conf, launchd dir, DHCP leases, root's copy, the daemon's plist" });
    chmodSync(sb.paths.launchdDir, 0o777);
    const { exitCode, checks } = await doctor();
    expect(checks.find((c) => c.name === "root-owned paths")).toMatchObject({ level: "fail", detail: expect.stringMatching(/^launchd dir \(.*\): .*Library\/LaunchDaemons can be written by anyone/) });
    expect(exitCode).toBe(1);
  });
});

describe("an instance whose lima.yaml Lima cannot read", () => {
  // A `base:` left in an instance's file: Lima refuses it in validation and lists the instance
  // with an empty status and no network (LIMA-FACTS.md §2).
  const invalid = web("base: template:ubuntu-lts\n");

  it("doctor says Lima cannot read it, in Lima's words, not that it lacks a vmnet network", async () => {
    await sb.addInstance("web", invalid);
    const { exitCode, checks } = await doctor();
    expect(exitCode).toBe(1);
    const web = checks.filter((c) => c.name === "instance web");
    expect(web).toEqual([{ name: "instance web", level: "fail", detail: `Lima cannot read ${sb.paths.limaHome}/web/lima.yaml: field \`base\` must be empty for YAML validation`, hint: expect.stringMatching(/^Fix .*web\/lima\.yaml: `limactl validate .*` checks it, `limactl list` repeats Lima's error\.$/) }]);
    expect(JSON.stringify(checks)).not.toMatch(/vmnet/);
  });

  it("status says so instead of a blank status, and up refuses it the same way", async () => {
    await sb.addInstance("web", invalid);
    const status = await sb.run(["status", "web"]);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toMatch(/^web {2}Lima cannot read its lima\.yaml\n {2}field `base` must be empty for YAML validation\n {2}Fix /m);
    const json = JSON.parse((await sb.run(["status", "--json"])).stdout) as { instances: Array<{ instance: string; status: string; limaError: string | null }> };
    expect(json.instances).toEqual([expect.objectContaining({ instance: "web", status: "", limaError: "field `base` must be empty for YAML validation" })]);
    const up = await sb.run(["up", "web"]);
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toMatch(/^error: Lima cannot read the lima\.yaml of `web`: field `base` must be empty for YAML validation$/m);
  });
});

describe("doctor and Lima's version", () => {
  it("a limactl that cannot say its version (a build from source) is found, its version unknown", async () => {
    const source = await createSandbox({ limaVersion: "<unknown>" });
    try {
      const result = await source.run(["doctor", "--json"]);
      const lima = (JSON.parse(result.stdout) as { checks: Check[] }).checks.find((c) => c.name === "Lima");
      expect(lima).toEqual({ name: "Lima", level: "warn", detail: "limactl found, version unknown (it says `limactl version <unknown>`)", hint: expect.stringMatching(/Lima 2\.0/) });
    } finally {
      await source.cleanup();
    }
  });

  it("no limactl at all is not found", async () => {
    const result = await sb.run(["doctor", "--json"], { env: { PATH: sb.pathWithout("limactl") } });
    const lima = (JSON.parse(result.stdout) as { checks: Check[] }).checks.find((c) => c.name === "Lima");
    expect(lima).toMatchObject({ level: "fail", detail: "limactl not found on PATH" });
  });
});
