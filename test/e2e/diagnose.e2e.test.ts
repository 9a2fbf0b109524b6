// `diagnose` as a user runs it, against the stand-ins: a healthy host passes every step; each
// way the host or the guest can be broken fails the step that names it (and exit 1), without
// stopping the others. The guest is broken through the stand-in's own model (its listening
// sockets, lima0's DHCP, its route metric), PF through pfctl itself.
import { execa } from "execa";
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { APPLE_PF_CONF, type CliResult, createSandbox, type Sandbox, standin } from "./harness.js";

vi.setConfig({ testTimeout: 60_000 });

/** The README's web VM, provisioned with nginx (the stand-in installs what provision installs). */
const WEB = (network = "  - lima: shared\n", httpPort = 28080) => `networks:
${network}provision:
  - mode: system
    script: |
      apt-get install -y nginx
x-limawan: |
  expose ssh 22 as 2222 limit 5/30s
  expose http 80 as ${httpPort}
`;

const STEPS = ["annotation", "vm-running", "address", "guest-interface", "guest-route", "guest-listening", "pf-enabled", "anchor-points", "anchor-rules", "ip-forwarding", "host-port", "wan-interface"];
const runsAsRoot = process.getuid?.() === 0;

interface Json {
  instance: string;
  ok: boolean;
  complete: boolean;
  limawan: string;
  forwards: Array<{ name: string | null; route: string | null; steps: Array<{ id: string; title: string; verdict: string; detail: string; fix?: string }> }>;
  notes: string[];
}

let sb: Sandbox;
afterEach(async () => {
  await sb?.cleanup();
});

async function webVm(yaml = WEB(), options: { up?: boolean } = {}): Promise<void> {
  sb = await createSandbox();
  await sb.addInstance("web", yaml);
  await sb.startVm("web");
  if (options.up !== false) {
    const up = await sb.run(["up", "web"]);
    expect(up.exitCode, up.stderr).toBe(0);
  }
}

async function diagnoseJson(args: string[] = [], env: Record<string, string> = {}): Promise<{ result: CliResult; json: Json }> {
  const result = await sb.run(["diagnose", "web", "--json", ...args], { env });
  return { result, json: JSON.parse(result.stdout) as Json };
}

/** Every verdict that is not a pass, as `forward/step: verdict`. */
const findings = (json: Json) => json.forwards.flatMap((f) => f.steps.filter((s) => s.verdict !== "pass").map((s) => `${f.name}/${s.id}: ${s.verdict}`));
const stepOf = (json: Json, forward: string, id: string) => json.forwards.find((f) => f.name === forward)!.steps.find((s) => s.id === id)!;

describe("diagnose on a healthy host", () => {
  it("before up: the rules, PF and forwarding fail; after up every step of every forward passes (exit 0)", async () => {
    await webVm(WEB(), { up: false });
    const before = await diagnoseJson();
    expect(before.result.exitCode).toBe(1);
    expect(findings(before.json).filter((f) => f.startsWith("ssh/"))).toEqual(["ssh/pf-enabled: fail", "ssh/anchor-points: fail", "ssh/anchor-rules: fail", "ssh/ip-forwarding: fail"]);

    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    const text = await sb.run(["diagnose", "web"]);
    expect(text.exitCode, text.stdout + text.stderr).toBe(0);
    const lines = text.stdout.split("\n");
    expect(lines[0]).toBe("web/ssh  tcp en0:2222 → 192.168.105.2:22");
    expect(lines.slice(1, 13).map((l) => l.trim().split(/\s+/)[0])).toEqual(Array(12).fill("PASS"));
    expect(text.stdout).toContain("  PASS     guest default route: via 192.168.105.1 on lima0 (the Mac): replies to WAN clients return through PF");
    expect(text.stdout).toContain("  PASS     guest service: tcp 0.0.0.0:80");
    expect(text.stdout).toMatch(/note: PF redirects only connections that arrive on the WAN interface: this Mac's own connections .* are not redirected/);
    expect(text.stdout).toContain("http: `curl -v http://203.0.113.10:28080/`");
    expect(lines.at(-1)).toBe("web: no step failed");

    const { result, json } = await diagnoseJson();
    expect(result.exitCode).toBe(0);
    expect(Object.keys(json)).toEqual(["instance", "ok", "complete", "limawan", "forwards", "notes"]);
    expect(json).toMatchObject({ instance: "web", ok: true, complete: true });
    expect(json.forwards.map((f) => [f.name, f.route])).toEqual([
      ["ssh", "tcp en0:2222 → 192.168.105.2:22"],
      ["http", "tcp en0:28080 → 192.168.105.2:80"],
    ]);
    for (const forward of json.forwards) {
      expect(forward.steps.map((s) => s.id)).toEqual(STEPS);
      for (const s of forward.steps) expect(Object.keys(s).sort()).toEqual(["detail", "id", "title", "verdict"]);
    }
    expect(stepOf(json, "ssh", "address").detail).toMatch(/^192\.168\.105\.2, from bootpd's DHCP lease/);
    expect(stepOf(json, "ssh", "anchor-rules").detail).toMatch(/^loaded, as the annotation says \(limawan:web:ssh, rules sha256 [0-9a-f]{12}\)$/);
  });
});

describe("diagnose on broken hosts: exit 1, the step that names it, the others judged too", () => {
  // PF disabled alone is test/engine/diagnose.test.ts's "PF disabled"; through the CLI, "before
  // up" above reads PF disabled.
  it("the anchor points gone from the loaded main ruleset", async () => {
    await webVm();
    // A tool (or a macOS update) loads a pf.conf without LimaWAN's points.
    const bare = path.join(sb.paths.root, "apple-pf.conf");
    writeFileSync(bare, APPLE_PF_CONF);
    await execa(standin("pfctl"), ["-f", bare], { env: sb.env });
    const pointless = await diagnoseJson();
    expect(pointless.result.exitCode).toBe(1);
    expect(findings(pointless.json)).toEqual(["ssh/anchor-points: fail", "http/anchor-points: fail"]);
    expect(stepOf(pointless.json, "ssh", "anchor-points").detail).toMatch(/rdr-anchor "limawan" and anchor "limawan" missing from the loaded main ruleset/);
    // pf.conf still has them (up put them there): another tool loaded its own ruleset.
    expect(stepOf(pointless.json, "ssh", "anchor-points").fix).toMatch(/^Another tool loaded its own main ruleset .*`limactl limawan up --all` puts them back\.$/);
  });

  // Nothing listening at all is test/engine/diagnose.test.ts's "the service not listening, or only
  // on loopback or IPv6"; here the guest's sockets and addresses as the CLI reads them.
  it("the guest: lima0 without its IPv4 address (Lima issue 3100), the service on loopback only", async () => {
    await webVm();
    sb.setGuest("web", { withoutIpv4: ["lima0"], listening: [{ protocol: "tcp", address: "127.0.0.1", port: 80 }, { protocol: "tcp", address: "0.0.0.0", port: 22 }] });
    const bare = await diagnoseJson();
    expect(bare.result.exitCode).toBe(1);
    expect(findings(bare.json)).toEqual(["ssh/guest-interface: fail", "ssh/guest-route: fail", "http/guest-interface: fail", "http/guest-route: fail", "http/guest-listening: fail"]);
    expect(stepOf(bare.json, "ssh", "guest-interface").detail).toMatch(/^lima0 has no IPv4 address \(Lima issue 3100/);
    expect(stepOf(bare.json, "ssh", "guest-route").detail).toMatch(/the default route goes out eth0 \(lima0 has no default route: it has no address\)/);
    expect(stepOf(bare.json, "http", "guest-listening").detail).toMatch(/listens on 127\.0\.0\.1:80 only/);
  });

  it("the guest's default route out eth0 (lima0's metric above eth0's): replies never come back, and the fix", async () => {
    await webVm(WEB("  - lima: shared\n    metric: 300\n"));
    const text = await sb.run(["diagnose", "web"]);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toMatch(
      /  FAIL     guest default route: the default route goes out eth0 \(metric 200 beats lima0's\), not lima0: replies to WAN clients leave through Lima's user-mode NAT instead of the Mac, and the clients' connections silently fail\n           fix: Give lima0 a lower metric than eth0's 200: in lima\.yaml `networks: \[\{lima: shared, metric: 100\}\]`/,
    );
    expect(text.stdout.split("\n").at(-1)).toBe("web: 1 step(s) failed — guest default route");
  });

  it("stale rules after the VM's address changed; the host port taken on the Mac; the WAN interface without an address", async () => {
    // A port the kernel picks, not a fixed one: test files, and whole runs of the suite, share
    // this machine, and an `up` elsewhere probing the same port would find it taken. Free while
    // `up` applies the forward, then held by a process on the Mac.
    const busy = net.createServer();
    const listen = (port: number) => new Promise<void>((resolve) => busy.listen({ port, host: "0.0.0.0" }, resolve));
    await listen(0);
    const port = (busy.address() as net.AddressInfo).port;
    await new Promise((resolve) => busy.close(resolve));
    await webVm(WEB(undefined, port));
    await sb.setLease("web", "192.168.105.9");
    await listen(port);
    try {
      const { result, json } = await diagnoseJson();
      expect(result.exitCode).toBe(1);
      expect(findings(json)).toEqual(["ssh/anchor-rules: fail", "http/anchor-rules: fail", "http/host-port: fail"]);
      expect(stepOf(json, "ssh", "anchor-rules").detail).toMatch(/^loaded rules are stale: they forward tcp en0:2222 → 192\.168\.105\.2:22; the annotation and address now say tcp en0:2222 → 192\.168\.105\.9:22/);
      expect(stepOf(json, "http", "host-port").fix).toContain(`lsof -nP -iTCP:${port}`);
    } finally {
      busy.close();
    }
    // en0 without an address: ifconfig reports it inactive.
    const { json } = await diagnoseJson([], { IFCONFIG_STANDIN_ADDRESSES: "bridge100=192.168.105.1/24" });
    expect(stepOf(json, "ssh", "wan-interface")).toMatchObject({ verdict: "fail", detail: expect.stringMatching(/^en0 has no link/) });
  });

  // An unknown instance: test/e2e/plugin.e2e.test.ts "an unknown instance is the same error…" (diagnose among them).
  it("a stopped VM: `VM running` fails, the guest's steps are skipped, the Mac's still judged", async () => {
    sb = await createSandbox();
    await sb.addInstance("web", WEB());
    const { result, json } = await diagnoseJson();
    expect(result.exitCode).toBe(1);
    expect(stepOf(json, "ssh", "vm-running")).toMatchObject({ verdict: "fail", detail: "Stopped: nothing answers for its forwards", fix: "limactl start web" });
    expect(["address", "guest-interface", "guest-route", "guest-listening"].map((id) => stepOf(json, "ssh", id).verdict)).toEqual(["skip", "skip", "skip", "skip"]);
    expect(stepOf(json, "ssh", "wan-interface").verdict).toBe("pass");
  });
});

describe.runIf(runsAsRoot)("diagnose as the user", () => {
  it("without root: PF and LimaWAN's record are unknown (needs root), which fails nothing; --sudo reads them", async () => {
    await webVm();
    const user = await sb.runAsUser(["diagnose", "web", "--json"]);
    expect(user.exitCode, user.stderr).toBe(0);
    const json = JSON.parse(user.stdout) as Json;
    expect(json).toMatchObject({ ok: true, complete: false });
    expect(findings(json).filter((f) => f.startsWith("ssh/"))).toEqual(["ssh/pf-enabled: unknown", "ssh/anchor-points: unknown", "ssh/anchor-rules: unknown"]);
    expect(stepOf(json, "ssh", "pf-enabled").detail).toBe("needs root: add --sudo");
    expect(json.notes.at(-1)).toBe("Steps marked unknown need root to read PF and LimaWAN's record: `limactl limawan diagnose web --sudo`.");
    expect(sb.sudoCalls()).toEqual([]); // diagnose never raises privileges by itself

    const root = await sb.runAsUser(["diagnose", "web", "--json", "--sudo"]);
    expect(root.exitCode, root.stderr).toBe(0);
    expect(JSON.parse(root.stdout)).toMatchObject({ ok: true, complete: true });
  });
});

describe("diagnose --external and --report", () => {
  /** A what-is-my-address service on loopback: the tests never reach the internet. */
  async function addressService(answer: () => string): Promise<{ url: string; close(): void }> {
    const server = http.createServer((_req, res) => res.end(`${answer()}\n`));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`, close: () => server.close() };
  }

  // The other verdicts on the address (the Mac holds it: pass; CGNAT) are test/engine/diagnose.test.ts's
  // "diagnose --external"; through the CLI, the lookup's answer and its failure.
  it("the public address: behind a router (its port forward, double NAT); unreachable is unknown", async () => {
    await webVm();
    const service = await addressService(() => "81.2.69.142");
    try {
      const env = { LIMAWAN_PUBLIC_ADDRESS_URL: service.url };
      const routed = await diagnoseJson(["--external"], env);
      expect(routed.result.exitCode).toBe(0); // a warning: LimaWAN cannot see the router
      const step = stepOf(routed.json, "http", "external");
      expect(step.verdict).toBe("warn");
      expect(step.detail).toMatch(/the internet sees 81\.2\.69\.142, not 203\.0\.113\.10 \(en0\): .* must forward tcp port 28080 to 203\.0\.113\.10/);
      expect(step.fix).toMatch(/double NAT, or the ISP's CGNAT/);
      expect(routed.json.notes.join("\n")).toContain("`curl -v http://81.2.69.142:28080/`");
    } finally {
      service.close();
    }
    const gone = await diagnoseJson(["--external"], { LIMAWAN_PUBLIC_ADDRESS_URL: service.url });
    expect(stepOf(gone.json, "ssh", "external")).toMatchObject({ verdict: "unknown", detail: expect.stringMatching(/could not ask http:\/\/127\.0\.0\.1:\d+\/ for the public address/) });
  });

  it("--report writes Markdown to paste into a bug report: versions, every step, no public address; with the user's rights", async () => {
    await webVm();
    const service = await addressService(() => "81.2.69.142");
    const dir = path.join(sb.paths.root, "reports");
    mkdirSync(dir);
    if (sb.vmUser) chownSync(dir, sb.vmUser.uid, sb.vmUser.gid); // the user's own directory
    const file = path.join(dir, "web.md");
    try {
      const r = await sb.run(["diagnose", "web", "--external", "--report", file], { env: { LIMAWAN_PUBLIC_ADDRESS_URL: service.url } });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toContain(`wrote ${file}`);
    } finally {
      service.close();
    }
    const report = readFileSync(file, "utf8");
    expect(report).toMatch(/^# LimaWAN diagnose: `web`\n\n- LimaWAN \S+\n- macOS: 15\.6\n- Darwin: 24\.6\.0\n- Lima: 2\.2\.0\n- Node\.js: v\d+/);
    expect(report).toContain("**Result: no step failed**");
    expect(report).toContain("## `ssh` — tcp en0:2222 → 192.168.105.2:22");
    expect(report).toContain("| PASS | guest service | tcp 0.0.0.0:22 |");
    expect(report).toMatch(/\| WARN \| from the internet \| the internet sees <public address>, not 203\.0\.113\.10/);
    expect(report).not.toContain("81.2.69.142");
    expect(report).toContain("## Notes");
    if (sb.vmUser) {
      // Run as root (sudo): written as the user who asked, and only where they may write.
      expect(statSync(file).uid).toBe(sb.vmUser.uid);
      const refused = await sb.run(["diagnose", "web", "--report", path.join(sb.paths.stateDir, "report.md")]);
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toMatch(/cannot write .*report\.md: EACCES/);
    }
  });
});
