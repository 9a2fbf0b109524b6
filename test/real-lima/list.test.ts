// `limactl list --json` as the real limactl prints it, read by LimaWAN's own adapter
// (plugin/host/lima.ts, through the runner that runs limactl as the user): Running (a stand-in
// host agent answering ha.sock), Stopped, Broken (no lima.yaml) and two instances Lima cannot
// read. The limactl stand-in, on the same Lima home, must say the same.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Lima, limaCannotRead, type Instance } from "../../plugin/host/lima.js";
import { createRunner } from "../../plugin/host/run.js";
import { jsonLines, LIMA_USER, limaYaml, machineId, REAL_LIMACTL, RealLimaSandbox, tierName, type HostAgent } from "./real-lima.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

describe.skipIf(!REAL_LIMACTL)(tierName("limactl list --json, real"), () => {
  let sb: RealLimaSandbox;
  let agent: HostAgent;
  let lima: Lima;
  beforeAll(async () => {
    sb = new RealLimaSandbox();
    sb.instance("db", limaYaml(sb));
    sb.instance("web", limaYaml(sb, "param:\n  SITE: example.org\nprovision:\n- mode: system\n  script: |\n    #!/bin/sh\n    echo {{.Param.SITE}} >/etc/site-name\nx-limawan:\n- expose http 80 as 8080\n"));
    sb.write(path.join(sb.limaHome, "broken", ".keep"), ""); // a directory without lima.yaml
    sb.instance("invalid", `base: template:debian-13\n${limaYaml(sb)}x-limawan: |\n  expose ssh 22 as 2222\n`);
    sb.instance("yamlerror", "images: [\n  - location: /tmp/disk.img\nx-limawan: |\n  expose ssh 22 as 2222\n");
    agent = await sb.hostAgent("web");
    const runner = createRunner({ env: sb.env, user: LIMA_USER ? { ...LIMA_USER, home: sb.home } : null, limaHome: sb.limaHome, dryRun: false, report: () => undefined });
    lima = new Lima(runner, sb.limaHome);
  });
  afterAll(async () => {
    await sb.cleanup();
  });

  it("reads every kind of instance, with Lima's own errors for those it cannot read", async () => {
    const instances = await lima.list();
    const by = (name: string) => instances.find((i) => i.name === name)!;
    expect(instances.map((i) => [i.name, i.status])).toEqual([["broken", "Broken"], ["db", "Stopped"], ["invalid", ""], ["web", "Running"], ["yamlerror", ""]]);
    expect(by("web").hostAgentPID).toBe(agent.pid);
    expect(by("web").network).toEqual([{ socket: `${sb.root}/vmnet.sock`, macAddress: expect.stringMatching(/^52:55:55(:[0-9a-f]{2}){3}$/), interface: "lima0", metric: 100 }]);
    expect(by("db").hostAgentPID).toBeUndefined();
    expect(instances.filter(limaCannotRead).map((i) => i.name)).toEqual(["invalid", "yamlerror"]);
    expect(by("invalid").errors).toBe("field `base` must be empty for YAML validation");
    expect(by("invalid").network).toEqual([]); // Lima knows nothing of its networks
    expect(by("yamlerror").errors).toMatch(/^failed to unmarshal YAML \(main file `[^`]*\/yamlerror\/lima\.yaml`\): \[3:1\]/);
    expect(by("broken").errors).toMatch(/^open [^ ]*\/broken\/lima\.yaml: no such file or directory$/);
  });

  it("says why Lima cannot read a file: the listing's words; validate's where the listing has none", async () => {
    const instances = await lima.list();
    const invalid = instances.find((i) => i.name === "invalid")!;
    expect(await lima.cannotReadReason(invalid)).toBe("field `base` must be empty for YAML validation");
    // `limactl validate` merges the `base:` first, so it accepts the file the instance cannot use.
    expect(await lima.validate(lima.configFile("invalid"))).toBeNull();
    const yamlerror: Instance = { ...instances.find((i) => i.name === "yamlerror")!, errors: undefined };
    expect(await lima.cannotReadReason(yamlerror)).toMatch(/^failed to unmarshal YAML \([^)]*\/yamlerror\/lima\.yaml\): \[3:1\]/);
  });

  it("writes limaVersion as the lima-version file holds it, and param when the instance has one", async () => {
    const objects = jsonLines(String((await sb.limactl(["list", "--json"])).stdout));
    const web = objects.find((o) => o.name === "web")!;
    expect(web.limaVersion).toBe("v2.2.0-153-g183a60d7");
    expect(web.param).toEqual({ SITE: "example.org" });
    expect(Object.keys(web).slice(Object.keys(web).indexOf("limaVersion"), Object.keys(web).indexOf("limaVersion") + 2)).toEqual(["limaVersion", "param"]);
    expect(web.config.provision).toEqual([{ mode: "system", script: "#!/bin/sh\necho example.org >/etc/site-name\n" }]);
  });

  it("and the limactl stand-in, on the same Lima home, says the same", async () => {
    const [real, standin] = await Promise.all([sb.limactl(["list", "--json"]), sb.standin(["list", "--json"])]);
    const realObjects = jsonLines(String(real.stdout));
    const standinObjects = jsonLines(String(standin.stdout));
    const gist = (o: Record<string, any>) => ({ name: o.name, status: o.status, errors: o.errors, hostAgentPID: o.hostAgentPID, limaVersion: o.limaVersion, param: o.param });
    expect(standinObjects.map(gist)).toEqual(realObjects.map(gist));
    // The same fields, in the same order (the values of a macOS host's defaults aside).
    expect(standinObjects.map((o) => Object.keys(o))).toEqual(realObjects.map((o) => Object.keys(o)));
    // The same derived MAC addresses, given the same machine ID.
    if (machineId()) expect(standinObjects.map((o) => o.network)).toEqual(realObjects.map((o) => o.network));
    // The same warnings about the same instances.
    const instancesWithErrors = (stderr: string) => [...stderr.matchAll(/msg="instance `([^`]*)` has errors"/g)].map((m) => m[1]);
    expect(instancesWithErrors(String(standin.stderr))).toEqual(instancesWithErrors(String(real.stderr)));
    const base = /instance `invalid` has errors" errors="\[field `base` must be empty for YAML validation\]"/;
    expect([base.test(String(real.stderr)), base.test(String(standin.stderr))]).toEqual([true, true]);
  });
});
