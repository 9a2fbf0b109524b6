// diagnose's judgement, from facts alone: a healthy host passes every step, and each way a host
// can be broken fails (or warns about) exactly the step that names it, without stopping the rest.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emitAnchor } from "../../compiler/emit-pf.js";
import type { InterfaceName, Ipv4Address, VmSpec } from "../../compiler/ir.js";
import { compileFile } from "../../compiler/pipeline.js";
import { hashAnchor } from "../../plugin/engine/anchor-hash.js";
import { diagnose, type DiagnoseFacts, type Diagnosis, type StepId, type Verdict } from "../../plugin/engine/diagnose.js";
import { markdownCode, markdownReport, markdownText, redactPublicAddresses, summaryLine } from "../../plugin/engine/diagnose-report.js";
import { printable } from "../../compiler/printable.js";
import { STEPS } from "../../plugin/engine/diagnose-steps/index.js";
import { unread } from "../../plugin/engine/reading.js";
import { damagedStateError, emptyState, type State } from "../../plugin/engine/state.js";
import type { GuestSocket } from "../../plugin/host/lima-guest.js";
import { limaYaml } from "./fake-host.js";

const ADDRESS = "192.168.105.2" as Ipv4Address;
const EN0 = "en0" as InterfaceName;

function specOf(...statements: string[]): VmSpec {
  const result = compileFile({ vm: "web", file: "/lima/web/lima.yaml", text: limaYaml(...statements) });
  if (!result.spec) throw new Error(JSON.stringify(result.diagnostics));
  return result.spec;
}

/** What `up web` records: the VM, its address, the interfaces, the anchor's hash. */
function appliedState(spec: VmSpec, address = ADDRESS, interfaces: string[] = ["en0"]): State {
  const compiled = emitAnchor([{ spec, address }], { defaultInterfaces: [interfaces[0] as InterfaceName] });
  if (!compiled.ok) throw new Error("emit");
  return { ...emptyState(), vms: { web: { instance: "web", file: spec.file, address, spec } }, anchorHash: hashAnchor(compiled.text), interfaces };
}

const ok = <T>(value: T) => ({ ok: true as const, value });
/** A guest socket as host/lima-guest.ts reports it (facts beside the address ss wrote), for the addresses these tests use. */
const SOCKET_FACTS: Record<string, Omit<GuestSocket, "protocol" | "address" | "port">> = {
  "0.0.0.0": { family: "ipv4", wildcard: true, loopback: false, host: "0.0.0.0" },
  "[::]": { family: "ipv6", wildcard: true, loopback: false, host: "::" },
  "*": { family: "any", wildcard: true, loopback: false, host: "*" },
  "127.0.0.1": { family: "ipv4", wildcard: false, loopback: true, host: "127.0.0.1" },
  "127.0.0.53%lo": { family: "ipv4", wildcard: false, loopback: true, host: "127.0.0.53" },
};
const socket = (protocol: "tcp" | "udp", address: keyof typeof SOCKET_FACTS, port: number): GuestSocket => ({ protocol, ...SOCKET_FACTS[address]!, address, port });
const needsRoot = { ok: false as const, reason: "pfctl needs root", code: "needs-root" as const };

function healthy(spec = specOf("expose ssh 22 as 2222", "expose http 80 as 8080")): DiagnoseFacts {
  return {
    instance: "web",
    status: "Running",
    unreachable: null,
    device: "lima0",
    network: "shared",
    file: spec.file,
    leasesFile: "/var/db/dhcpd_leases",
    annotation: { annotated: true, spec, errors: 0, warnings: 0 },
    address: { kind: "found", address: ADDRESS, source: "lease" },
    guest: {
      addresses: ok([ADDRESS]),
      routes: ok([
        { dev: "lima0", gateway: "192.168.105.1", metric: 100 },
        { dev: "eth0", gateway: "192.168.5.2", metric: 200 },
      ]),
      sockets: ok([
        socket("tcp", "0.0.0.0", 22),
        socket("tcp", "[::]", 22),
        socket("tcp", "*", 80),
        socket("udp", "127.0.0.53%lo", 53),
      ]),
    },
    pf: {
      enabled: ok(true),
      anchorPoints: ok({ rdr: true, filter: true }),
      labels: ok(new Set(["limawan:web:ssh", "limawan:web:http"])),
      forwarding: ok("1"),
    },
    state: ok(appliedState(spec)),
    pfConfPoints: true,
    now: Date.parse("2026-12-07T12:00:00Z"),
    hostPorts: new Map([
      ["tcp/2222", "free"],
      ["tcp/8080", "free"],
    ]),
    defaultInterface: EN0,
    interfaces: new Map([["en0", ok({ name: "en0", up: true, active: true, ipv4: ["203.0.113.10" as Ipv4Address] })]]),
    publicAddress: null,
  };
}

/** The verdict of one step of one forward (the first forward by default). */
function verdictOf(diagnosis: Diagnosis, id: StepId, forward = 0): { verdict: Verdict; detail: string; fix?: string } {
  const step = diagnosis.forwards[forward]!.steps.find((s) => s.code === id);
  if (!step) throw new Error(`no step ${id}`);
  return { verdict: step.severity, detail: step.detail, ...(step.fix ? { fix: step.fix } : {}) };
}

/** Every step's verdict that is not `pass`, as `forward/step: verdict`. */
function findings(diagnosis: Diagnosis): string[] {
  return diagnosis.forwards.flatMap((f) => f.steps.filter((s) => s.severity !== "pass").map((s) => `${f.name}/${s.code}: ${s.severity}`));
}

const ORDER: StepId[] = ["annotation", "vm-running", "address", "guest-interface", "guest-route", "guest-listening", "pf-enabled", "anchor-points", "anchor-rules", "ip-forwarding", "host-port", "wan-interface"];

describe("diagnose: a healthy host", () => {
  it("passes every step of every forward, in the order a packet meets them", () => {
    const d = diagnose(healthy());
    expect(findings(d)).toEqual([]);
    expect(d).toMatchObject({ instance: "web", ok: true, complete: true });
    expect(d.forwards.map((f) => [f.name, f.route])).toEqual([
      ["ssh", "tcp en0:2222 → 192.168.105.2:22"],
      ["http", "tcp en0:8080 → 192.168.105.2:80"],
    ]);
    for (const f of d.forwards) expect(f.steps.map((s) => s.code)).toEqual(ORDER);
    expect(verdictOf(d, "address").detail).toMatch(/192\.168\.105\.2, from bootpd's DHCP lease/);
    expect(verdictOf(d, "anchor-rules").detail).toMatch(/loaded, as the annotation says \(limawan:web:ssh, rules sha256 [0-9a-f]{12}\)/);
  });

  it("says the Mac's own connections are not redirected, and how to test from outside", () => {
    const d = diagnose(healthy());
    expect(d.notes[0]).toMatch(/this Mac's own connections .* are not redirected.*reach the VM directly at 192\.168\.105\.2/);
    expect(d.notes[1]).toContain("ssh: `ssh -p 2222 USER@203.0.113.10`");
    expect(d.notes[1]).toContain("http: `curl -v http://203.0.113.10:8080/`");
  });

  it("names the guest as the address's source when no lease gives it", () => {
    const facts = { ...healthy(), address: { kind: "found" as const, address: ADDRESS, source: "guest" as const } };
    expect(verdictOf(diagnose(facts), "address")).toMatchObject({ verdict: "pass", detail: expect.stringMatching(/from the guest's lima0/) });
  });
});

describe("diagnose: each broken host fails the step that names it, and only that one", () => {
  it("PF disabled", () => {
    const facts = healthy();
    facts.pf.enabled = ok(false);
    const d = diagnose(facts);
    expect(findings(d)).toEqual(["ssh/pf-enabled: fail", "http/pf-enabled: fail"]);
    expect(d.ok).toBe(false);
    expect(verdictOf(d, "pf-enabled").fix).toMatch(/limactl limawan up web/);
  });

  it("anchor points missing from the loaded main ruleset", () => {
    const facts = healthy();
    facts.pf.anchorPoints = ok({ rdr: false, filter: true });
    expect(findings(diagnose(facts))).toEqual(["ssh/anchor-points: fail", "http/anchor-points: fail"]);
    expect(verdictOf(diagnose(facts), "anchor-points").detail).toMatch(/^rdr-anchor "limawan" missing/);
    expect(verdictOf(diagnose(facts), "anchor-points").fix).toBe("Another tool loaded its own main ruleset (a VPN client or firewall?); `limactl limawan up --all` puts them back.");
  });

  it("anchor points missing: says why as status and doctor do (pf.conf lost them too; the watcher paused)", () => {
    const facts = { ...healthy(), pfConfPoints: false };
    facts.pf.anchorPoints = ok({ rdr: false, filter: false });
    expect(verdictOf(diagnose(facts), "anchor-points").fix).toMatch(/^Missing from pf\.conf too \(a macOS update may have rewritten it\); `limactl limawan up --all` restores both\.$/);
    const paused = { ...facts, pfConfPoints: true, state: ok({ ...appliedState(facts.annotation.spec!), points: { restores: [], pausedUntil: facts.now + 60_000 } }) };
    expect(verdictOf(diagnose(paused), "anchor-points").fix).toMatch(/^Another tool keeps removing them, so the watcher stopped putting them back until 2026-12-07T12:01:00\.000Z/);
  });

  it("the forward's rules not loaded; held down by `down`", () => {
    const facts = healthy();
    facts.pf.labels = ok(new Set(["limawan:web:http"]));
    expect(findings(diagnose(facts))).toEqual(["ssh/anchor-rules: fail"]);
    facts.state = ok({ ...(facts.state as { value: State }).value, heldDown: ["web"] });
    expect(verdictOf(diagnose(facts), "anchor-rules")).toMatchObject({ detail: expect.stringMatching(/held down/), fix: "`limactl limawan up web` forwards it again." });
  });

  it("rules loaded for an old address are stale (hash compare), naming both targets", () => {
    const spec = specOf("expose ssh 22 as 2222", "expose http 80 as 8080");
    const facts = { ...healthy(spec), state: ok(appliedState(spec, "192.168.105.7" as Ipv4Address)) };
    const d = diagnose(facts);
    expect(findings(d)).toEqual(["ssh/anchor-rules: fail", "http/anchor-rules: fail"]);
    expect(verdictOf(d, "anchor-rules").detail).toMatch(/stale: they forward tcp en0:2222 → 192\.168\.105\.7:22; the annotation and address now say tcp en0:2222 → 192\.168\.105\.2:22/);
  });

  it("names what moved, from the recorded and annotated forwards: a port range, a protocol", () => {
    const before = specOf("expose games 27015-27020/udp as 37015-37020", "expose http 80 as 8080");
    const after = specOf("expose games 27015-27020 as 37015-37020", "expose http 80 as 8081");
    const facts = { ...healthy(after), state: ok(appliedState(before)) };
    facts.pf.labels = ok(new Set(["limawan:web:games", "limawan:web:http"]));
    const d = diagnose(facts);
    const details = d.forwards.map((f) => f.steps.find((s) => s.code === "anchor-rules")!.detail);
    expect(details[0]).toMatch(/stale: they forward udp en0:37015-37020 → 192\.168\.105\.2:27015-27020; the annotation and address now say tcp en0:37015-37020 → 192\.168\.105\.2:27015-27020/);
    expect(details[1]).toMatch(/stale: they forward tcp en0:8080 → 192\.168\.105\.2:80; the annotation and address now say tcp en0:8081 → 192\.168\.105\.2:80/);
  });

  it("rules loaded before an option changed are stale too; the unchanged forward is not", () => {
    const before = specOf("expose ssh 22 as 2222", "expose http 80 as 8080");
    const after = specOf("expose ssh 22 as 2222 limit 5/30s", "expose http 80 as 8080");
    const facts = { ...healthy(after), state: ok(appliedState(before)) };
    expect(findings(diagnose(facts))).toEqual(["ssh/anchor-rules: fail"]);
    expect(verdictOf(diagnose(facts), "anchor-rules").detail).toMatch(/options .* differ/);
  });

  it("a record whose hash is not the anchor's is a warning", () => {
    const facts = healthy();
    facts.state = ok({ ...(facts.state as { value: State }).value, anchorHash: "0".repeat(64) });
    expect(findings(diagnose(facts))).toEqual(["ssh/anchor-rules: warn", "http/anchor-rules: warn"]);
  });

  it("IP forwarding off", () => {
    const facts = healthy();
    facts.pf.forwarding = ok("0");
    expect(findings(diagnose(facts))).toEqual(["ssh/ip-forwarding: fail", "http/ip-forwarding: fail"]);
  });

  it("the service not listening, or only on loopback or IPv6, in the guest", () => {
    const facts = healthy();
    facts.guest!.sockets = ok([
      socket("tcp", "127.0.0.1", 80),
      socket("tcp", "[::]", 22),
    ]);
    const d = diagnose(facts);
    expect(findings(d)).toEqual(["ssh/guest-listening: fail", "http/guest-listening: fail"]);
    expect(verdictOf(d, "guest-listening", 0).detail).toMatch(/tcp port 22 listens on IPv6 only/);
    expect(verdictOf(d, "guest-listening", 1).detail).toMatch(/tcp port 80 listens on 127\.0\.0\.1:80 only: WAN clients arrive at 192\.168\.105\.2/);
    facts.guest!.sockets = ok([]);
    expect(verdictOf(diagnose(facts), "guest-listening", 1)).toMatchObject({ verdict: "fail", detail: "nothing listens on tcp port 80", fix: expect.stringMatching(/Start the service/) });
  });

  it("a range half answering warns; a UDP forward looks for a bound UDP socket", () => {
    const spec = specOf("expose api 9000-9001 as 19000-19001", "expose dns 53/udp as 5353");
    const facts = healthy(spec);
    facts.pf.labels = ok(new Set(["limawan:web:api", "limawan:web:dns"]));
    facts.hostPorts = new Map([["tcp/19000", "free"], ["tcp/19001", "free"], ["udp/5353", "free"]]);
    facts.guest!.sockets = ok([socket("tcp", "0.0.0.0", 9000), socket("udp", "0.0.0.0", 53)]);
    expect(findings(diagnose(facts))).toEqual(["api/guest-listening: warn"]);
  });

  it("the guest's default route out eth0: replies never return through the Mac, with the fix", () => {
    const facts = healthy();
    facts.guest!.routes = ok([
      { dev: "eth0", gateway: "192.168.5.2", metric: 200 },
      { dev: "lima0", gateway: "192.168.105.1", metric: 300 },
    ]);
    const d = diagnose(facts);
    expect(findings(d)).toEqual(["ssh/guest-route: fail", "http/guest-route: fail"]);
    const step = verdictOf(d, "guest-route");
    expect(step.detail).toMatch(/goes out eth0 \(metric 200 beats lima0's\), not lima0: .* silently fail/);
    expect(step.fix).toMatch(/metric: 100/);
    expect(step.fix).toMatch(/ip route replace default via 192\.168\.105\.1 dev lima0/);
  });

  it("lima0 without its IPv4 address (Lima issue 3100), which takes its default route too", () => {
    const facts = healthy();
    facts.guest!.addresses = ok([]);
    facts.guest!.routes = ok([{ dev: "eth0", gateway: "192.168.5.2", metric: 200 }]);
    const d = diagnose(facts);
    expect(findings(d)).toEqual(["ssh/guest-interface: fail", "ssh/guest-route: fail", "http/guest-interface: fail", "http/guest-route: fail"]);
    expect(verdictOf(d, "guest-interface").detail).toMatch(/lima0 has no IPv4 address \(Lima issue 3100.*the Mac leased it 192\.168\.105\.2/);
    expect(verdictOf(d, "guest-route").detail).toMatch(/lima0 has no default route: it has no address/);
  });

  it("a lease the guest no longer holds", () => {
    const facts = healthy();
    facts.guest!.addresses = ok(["192.168.105.9" as Ipv4Address]);
    expect(findings(diagnose(facts))).toEqual(["ssh/guest-interface: fail", "http/guest-interface: fail"]);
  });

  it("the host port held by a process on the Mac", () => {
    const facts = healthy();
    facts.hostPorts = new Map([["tcp/2222", "free"], ["tcp/8080", "in-use"]]);
    const d = diagnose(facts);
    expect(findings(d)).toEqual(["http/host-port: fail"]);
    expect(verdictOf(d, "host-port", 1).fix).toMatch(/lsof -nP -iTCP:8080/);
  });

  it("the WAN interface without an address, missing, or gone from the default route", () => {
    const facts = healthy();
    facts.interfaces = new Map([["en0", ok({ name: "en0", up: true, active: false, ipv4: [] })]]);
    expect(verdictOf(diagnose(facts), "wan-interface")).toMatchObject({ verdict: "fail", detail: expect.stringMatching(/en0 has no link/) });
    facts.interfaces = new Map([["en0", ok(null)]]);
    expect(verdictOf(diagnose(facts), "wan-interface").detail).toMatch(/en0 does not exist/);
    // Loaded on en0; the default route moved to en1 since.
    const moved = { ...healthy(), defaultInterface: "en1" as InterfaceName };
    expect(findings(diagnose(moved))).toEqual(["ssh/anchor-rules: fail", "ssh/wan-interface: warn", "http/anchor-rules: fail", "http/wan-interface: warn"]);
  });

  it("a stopped VM fails `VM running` and skips what needs it running, judging the rest", () => {
    const facts = { ...healthy(), status: "Stopped", address: null, guest: null };
    const d = diagnose(facts);
    expect(findings(d).filter((f) => f.startsWith("ssh/"))).toEqual(["ssh/vm-running: fail", "ssh/address: skip", "ssh/guest-interface: skip", "ssh/guest-route: skip", "ssh/guest-listening: skip"]);
    expect(verdictOf(d, "vm-running").fix).toBe("limactl start web");
  });

  it("every step that depends on a failed one is skipped with that one's reason, whatever the step", () => {
    const stopped = diagnose({ ...healthy(), status: "Stopped", address: null, guest: null });
    const unreadable = diagnose({ ...healthy(), status: "", limaError: "field `base` must be empty", address: null, guest: null });
    for (const s of STEPS.filter((s) => s.dependsOn.includes("vm-running"))) {
      expect(verdictOf(stopped, s.id)).toEqual({ verdict: "skip", detail: "the VM is stopped" });
      expect(verdictOf(unreadable, s.id)).toEqual({ verdict: "skip", detail: "Lima cannot read its lima.yaml" });
    }
    expect(STEPS.filter((s) => s.dependsOn.includes("vm-running")).map((s) => s.id)).toEqual(["address", "guest-interface", "guest-route", "guest-listening"]);
  });

  it("a running VM without a vmnet network: its address fails, the guest's steps say why they were not looked at", () => {
    const facts = { ...healthy(), unreachable: { message: "has no vmnet network, so PF cannot reach it", hint: "Add networks" }, address: null, guest: null };
    const d = diagnose(facts);
    expect(verdictOf(d, "address")).toMatchObject({ verdict: "fail", detail: "has no vmnet network, so PF cannot reach it" });
    for (const id of ["guest-interface", "guest-route", "guest-listening"] as const) expect(verdictOf(d, id)).toEqual({ verdict: "skip", detail: "no vmnet network" });
  });

  it("no annotation: one entry for the VM, the annotation failing, forward steps skipped", () => {
    const facts = { ...healthy(), annotation: { annotated: false, spec: null, errors: 0, warnings: 0 } };
    const d = diagnose(facts);
    expect(d.forwards).toHaveLength(1);
    expect(d.forwards[0]!.name).toBeNull();
    expect(d.forwards[0]!.steps.map((s) => s.code)).toEqual(ORDER);
    expect(findings(d)).toEqual(["null/annotation: fail", "null/guest-listening: skip", "null/anchor-rules: skip", "null/host-port: skip", "null/wan-interface: skip"]);
  });
});

describe("diagnose without root", () => {
  it("PF and the record are unknown, which does not fail the run; a note says --sudo", () => {
    const facts = healthy();
    facts.pf = { enabled: needsRoot, anchorPoints: needsRoot, labels: needsRoot, forwarding: ok("1") };
    facts.state = { ok: false, reason: "cannot read state.json: EACCES", code: "needs-root" };
    const d = diagnose(facts);
    expect(d.ok).toBe(true);
    expect(d.complete).toBe(false);
    expect(findings(d).filter((f) => f.startsWith("ssh/"))).toEqual(["ssh/pf-enabled: unknown", "ssh/anchor-points: unknown", "ssh/anchor-rules: unknown"]);
    expect(verdictOf(d, "pf-enabled").detail).toBe("needs root: add --sudo");
    expect(d.notes.at(-1)).toBe("Steps marked unknown need root to read PF and LimaWAN's record: `limactl limawan diagnose web --sudo`.");
  });

  it("a damaged state file is reported as damaged, never as needing root (read as the user or as root)", () => {
    for (const isRoot of [false, true]) {
      const facts = healthy();
      facts.state = unread(damagedStateError("/var/db/limawan/state.json", "not JSON"), isRoot);
      const d = diagnose(facts);
      const rules = verdictOf(d, "anchor-rules");
      expect(rules).toMatchObject({ verdict: "unknown", detail: expect.stringContaining("LimaWAN's record cannot be read: /var/db/limawan/state.json is damaged (not JSON)") });
      expect(JSON.stringify(d)).not.toMatch(/needs root|--sudo/);
    }
  });
});

describe("diagnose --external", () => {
  const withPublic = (address: string, wan = "203.0.113.10") => {
    const facts = healthy();
    facts.publicAddress = ok(address as Ipv4Address);
    facts.interfaces = new Map([["en0", ok({ name: "en0", up: true, active: true, ipv4: [wan as Ipv4Address] })]]);
    return diagnose(facts);
  };

  it("the Mac holding the public address passes", () => {
    expect(verdictOf(withPublic("203.0.113.10"), "external")).toMatchObject({ verdict: "pass", detail: expect.stringMatching(/clients connect to 203\.0\.113\.10:2222 directly/) });
  });

  it("another public address: the router must forward the port; double NAT is named", () => {
    const step = verdictOf(withPublic("81.2.69.142", "192.168.1.20"), "external");
    expect(step.verdict).toBe("warn");
    expect(step.detail).toMatch(/the internet sees 81\.2\.69\.142, not 192\.168\.1\.20 \(en0\): the Mac is behind a router's NAT, which must forward tcp port 2222 to 192\.168\.1\.20/);
    expect(step.fix).toMatch(/double NAT/);
  });

  it("a tcp+udp forward needs both forwarded on the router", () => {
    const spec = specOf("expose game 27015/tcp+udp as 27015");
    const facts = { ...healthy(spec), publicAddress: ok("81.2.69.142" as Ipv4Address) };
    expect(verdictOf(diagnose(facts), "external").detail).toMatch(/must forward tcp and udp port 27015 to 203\.0\.113\.10$/);
  });

  it("100.64.0.0/10 on either side is the ISP's CGNAT", () => {
    expect(verdictOf(withPublic("100.64.7.1"), "external").detail).toMatch(/carrier-grade NAT/);
    expect(verdictOf(withPublic("81.2.69.142", "100.72.0.5"), "external").detail).toMatch(/^100\.72\.0\.5 is in 100\.64\.0\.0\/10/);
  });

  it("a failed lookup is unknown, not a failure", () => {
    const facts = healthy();
    facts.publicAddress = { ok: false, reason: "could not ask http://x for the public address: ECONNREFUSED", code: "host-command" };
    const d = diagnose(facts);
    expect(verdictOf(d, "external").verdict).toBe("unknown");
    expect(d.ok).toBe(true);
  });
});

describe("reports", () => {
  it("the summary names a VM's failure once and a forward's with its name", () => {
    const facts = healthy();
    facts.pf.enabled = ok(false);
    facts.hostPorts = new Map([["tcp/2222", "free"], ["tcp/8080", "in-use"]]);
    expect(summaryLine(diagnose(facts))).toBe("web: 2 step(s) failed — PF enabled; http: host port");
  });

  it("Markdown: versions, every step and the notes; public addresses withheld", () => {
    const facts = healthy();
    facts.publicAddress = ok("81.2.69.142" as Ipv4Address);
    const text = markdownReport(diagnose(facts), { version: "0.1.0", generatedAt: "2026-09-01T00:00:00.000Z", facts: [["macOS", "15.6"]], command: "limactl limawan diagnose web --external" });
    expect(text).toMatch(/^# LimaWAN diagnose: `web`\n\n- LimaWAN 0\.1\.0\n- macOS: 15\.6\n/);
    expect(text).toContain("| PASS | guest default route | via 192.168.105.1 on lima0 (the Mac): replies to WAN clients return through PF |");
    expect(text).toContain("## `http` — tcp en0:8080 → 192.168.105.2:80");
    expect(text).toMatch(/\| WARN \| from the internet \| the internet sees <public address>, not 203\.0\.113\.10 \(en0\).*<br>\*\*fix:\*\*/);
    expect(text).not.toContain("81.2.69.142");
  });

  it("a path under the user's home is written ~", () => {
    const text = markdownReport(diagnose({ ...healthy(), file: "/Users/alice/.lima/web/lima.yaml" }), { version: "0.1.0", generatedAt: "x", facts: [], command: "c", home: "/Users/alice" });
    expect(text).toContain("valid (\\~/.lima/web/lima.yaml)"); // `~` escaped: GFM strikes through between two
    expect(text).not.toContain("alice");
  });

  it("Markdown text reads as what it says: printable, one line, and every character Markdown acts on escaped", () => {
    const unit = fc.constantFrom("a", " ", "\\", "`", "*", "_", "[", "]", "<", ">", "&", "|", "~", "#", "1", ".", "-", "\n", "\r", "\u001b", "\u0007", "\u2028", "é");
    fc.assert(
      fc.property(fc.string({ unit }), fc.boolean(), (value, atLineStart) => {
        const text = markdownText(value, atLineStart);
        expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028]/);
        // Each source line, its escapes undone, is what printable shows of it (a list item's text loses its leading spaces).
        const lines = text.split("<br>").map((l) => l.replace(/\\([\\`*_[\]<>&|~#>+=.)-])/g, "$1"));
        const expected = value.split(/\r?\n/).map((l) => printable(l));
        if (atLineStart) expected[0] = expected[0]!.trimStart();
        expect(lines).toEqual(expected);
        // Nothing Markdown reads is left bare: escaped pairs and our own <br> taken away, no such character remains.
        expect(text.replace(/\\[\s\S]/g, "").replace(/<br>/g, "")).not.toMatch(/[\\`*_[\]<>&|~]/);
        if (atLineStart) expect(text).not.toMatch(/^(\s|[#>+=-]|\d+[.)])/);
      }),
    );
  });

  it("a Markdown code span of spaces alone is not padded: CommonMark strips nothing from it", () => {
    expect(markdownCode("  ")).toBe("`  `");
    expect(markdownCode(" ")).toBe("` `");
  });

  it("a Markdown code span holds its text as written, whatever backticks it has", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", " ", "`", "|", "\n", "\u001b") }), (value) => {
        const span = markdownCode(value);
        const fence = /^`+/.exec(span)![0];
        expect(span.endsWith(fence)).toBe(true);
        let inside = span.slice(fence.length, span.length - fence.length);
        // CommonMark §6.1: one space is stripped from each end when both have one (and not all are spaces).
        if (inside.startsWith(" ") && inside.endsWith(" ") && inside.trim() !== "") inside = inside.slice(1, -1);
        expect(inside.replace(/\\\|/g, "|")).toBe(printable(value));
        expect(inside.match(/`+/g)?.every((run) => run.length !== fence.length) ?? true).toBe(true);
      }),
    );
  });

  it("redaction keeps private, CGNAT, documentation and loopback addresses", () => {
    expect(redactPublicAddresses("8.8.8.8, 10.0.0.1, 100.64.0.1, 192.0.2.1, 127.0.0.1, v1.2.3.4.5 and 81.2.69.142.")).toBe(
      "<public address>, 10.0.0.1, 100.64.0.1, 192.0.2.1, 127.0.0.1, v1.2.3.4.5 and <public address>.",
    );
  });
});
