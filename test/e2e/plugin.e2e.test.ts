// The whole cycle as a user runs it — annotate, up, status, down — with the built
// limactl-limawan against the stateful stand-ins on PATH (test/standins/). Assertions are
// about what the host ends up like, read back through the tools themselves.
import { execa } from "execa";
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { currentBoot } from "../../plugin/host/state-lock.js";
import { CLI, createSandbox, type Sandbox, standin, STANDIN_BIN } from "./harness.js";

// Each CLI call here is a Node process plus stand-in processes (~1 s on 2 busy cores), and a
// test makes several: vitest's 5 s default is a measure of machine load, not of correctness.
vi.setConfig({ testTimeout: 30_000 });

const WEB = `networks:
  - lima: shared
x-limawan: |
  interface en0
  expose ssh 22 as 2222 limit 5/30s
  expose http 80 as 8080
  expose dns 53/udp as 5353
`;
const DB = `# database VM
networks:
  - lima: shared
x-limawan:
  - expose postgres 5432 as 15432 from 203.0.113.0/24
`;

let sb: Sandbox;

beforeEach(async () => {
  sb = await createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

type HostView = Record<"anchorRules" | "anchorNat" | "tables" | "mainNat" | "mainRules" | "references" | "info" | "forwarding" | "pfConf", string>;

const tool = async (file: string, args: string[]) => {
  const r = await execa(standin(file), args, { env: sb.env, reject: false });
  return `${r.exitCode}\n${r.stdout}`;
};

/** Each part of what LimaWAN may touch, read through the tools and files a user would look at. */
const READERS: { [K in keyof HostView]: () => Promise<string> } = {
  anchorRules: () => tool("pfctl", ["-a", "limawan", "-sr"]),
  anchorNat: () => tool("pfctl", ["-a", "limawan", "-sn"]),
  tables: () => tool("pfctl", ["-a", "limawan", "-s", "Tables"]),
  mainNat: () => tool("pfctl", ["-sn"]),
  mainRules: () => tool("pfctl", ["-sr"]),
  // Each row ends in the reference's age, which ticks on by itself.
  references: async () => (await tool("pfctl", ["-s", "References"])).replace(/\d+ days \d\d:\d\d:\d\d$/gm, "<age>"),
  info: async () => (await tool("pfctl", ["-s", "info"])).split("\n").slice(0, 2).join("\n").replace(/for \d+ days [\d:]+/, ""),
  forwarding: () => tool("sysctl", ["-n", "net.inet.ip.forwarding"]),
  pfConf: async () => readFileSync(sb.paths.pfConf, "utf8"),
};

/** Everything LimaWAN may touch (eight tool runs): for "as it was" comparisons. */
async function host(): Promise<HostView> {
  const view = {} as HostView;
  for (const key of Object.keys(READERS) as Array<keyof HostView>) view[key] = await READERS[key]();
  return view;
}

/** One part of it (one tool run): what a test that looks at one part reads. */
const read = (part: keyof HostView): Promise<string> => READERS[part]();

async function pfCalls(): Promise<string[][]> {
  const text = (() => {
    try {
      return readFileSync(`${sb.env.PFCTL_STANDIN_STATE}.calls`, "utf8");
    } catch {
      return "";
    }
  })();
  return text.split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { argv: string[] }).argv);
}

const loads = async () => (await pfCalls()).filter((a) => a.join(" ") === "-a limawan -f -").length;

async function installed(): Promise<void> {
  const r = await sb.run(["install"]);
  expect(r.exitCode, r.stderr).toBe(0);
}

describe("up / status / down", () => {
  it("up then down leaves PF, pf.conf and the state as they were (forwarding already on)", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    await execa(standin("sysctl"), ["-w", "net.inet.ip.forwarding=1"], { env: sb.env });
    await installed();
    const before = await host();

    const upResult = await sb.run(["up", "web"]);
    expect(upResult.exitCode, upResult.stderr).toBe(0);
    const during = await host();
    expect(during.anchorNat).toMatch(/rdr on en0 inet proto tcp from any to \(en0\) port (= )?2222 .*-> 192\.168\.105\.\d+ port 22/);
    expect(during.anchorRules).toMatch(/label "limawan:web:ssh"/);
    expect(during.info).toMatch(/Status: Enabled/);

    const downResult = await sb.run(["down", "web"]);
    expect(downResult.exitCode, downResult.stderr).toBe(0);
    expect(await host()).toEqual(before);
    expect((await pfCalls()).some((a) => a.includes("-d"))).toBe(false);
  });

  it("turns IP forwarding on when it was off, and uninstall puts it back", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    const pristine = await host();
    expect(pristine.forwarding).toBe("0\n0");
    await installed();
    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    expect(await read("forwarding")).toBe("0\n1");
    expect((await sb.run(["down", "web"])).exitCode).toBe(0);
    expect(await read("forwarding")).toBe("0\n1"); // DESIGN.md: down leaves forwarding alone
    const un = await sb.run(["uninstall"]);
    expect(un.exitCode, un.stderr).toBe(0);
    expect(un.stderr).toMatch(/restored net\.inet\.ip\.forwarding to 0/);
    expect(await host()).toEqual(pristine);
  });

  it("up twice changes nothing the second time", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    const after = await host();
    const callsAfterFirst = (await pfCalls()).length;
    const second = await sb.run(["up", "web"]);
    expect(second.exitCode).toBe(0);
    expect(second.stderr).toMatch(/nothing to change/);
    expect(await host()).toEqual(after);
    const changing = (await pfCalls()).slice(callsAfterFirst).filter((a) => a.includes("-f") && !a.includes("-n"));
    expect(changing).toEqual([]);
  });

  it("up twice on an annotation that exposes nothing changes nothing the second time", async () => {
    await sb.addInstance("web", "networks:\n  - lima: shared\nx-limawan: |\n  interface en0\n");
    await sb.startVm("web");
    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    const callsAfterFirst = (await pfCalls()).length;
    const second = await sb.run(["up", "web"]);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/nothing to change/);
    expect((await pfCalls()).slice(callsAfterFirst).filter((a) => a.includes("-F") || (a.includes("-f") && !a.includes("-n")))).toEqual([]);
  });

  it("two VMs side by side: bringing one down leaves the other's rules byte-identical", async () => {
    await sb.addInstance("web", WEB);
    await sb.addInstance("db", DB);
    await sb.startVm("web");
    await sb.startVm("db");
    expect((await sb.run(["up", "web", "db"])).exitCode).toBe(0);
    const rulesNatTables = async () => ({ anchorRules: await read("anchorRules"), anchorNat: await read("anchorNat"), tables: await read("tables") });
    const both = await rulesNatTables();
    expect(both.anchorRules).toMatch(/limawan:db:postgres/);
    expect((await sb.run(["down", "db"])).exitCode).toBe(0);
    const after = await rulesNatTables();
    const webRules = (text: string) => text.split("\n").filter((l) => l.includes("lw_web_") || l.includes("limawan:web:"));
    expect(webRules(after.anchorRules)).toEqual(webRules(both.anchorRules));
    expect(webRules(after.anchorNat)).toEqual(webRules(both.anchorNat));
    expect(after.anchorRules).not.toMatch(/limawan:db/);
    expect(after.tables).not.toMatch(/lw_db_/);
  });

  it("a pfctl failure while loading leaves the previous rules and state intact (exit 4)", async () => {
    await sb.addInstance("web", WEB);
    await sb.addInstance("db", DB);
    await sb.startVm("web");
    await sb.startVm("db");
    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    const before = await host();
    const state = readFileSync(`${sb.paths.stateDir}/state.json`, "utf8");
    const failed = await sb.run(["up", "db"], { env: { PFCTL_STANDIN_FAIL: "-a limawan -f -" } });
    expect(failed.exitCode).toBe(4);
    expect(failed.stderr).toMatch(/pfctl could not load the rules/);
    expect(failed.stderr).toMatch(/Device busy/);
    expect(await host()).toEqual(before);
    expect(readFileSync(`${sb.paths.stateDir}/state.json`, "utf8")).toBe(state);
  });

  it("a failure after PF was enabled undoes the enable and the forwarding change", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    await installed();
    const before = await host();
    const failed = await sb.run(["up", "web"], { env: { PFCTL_STANDIN_FAIL: "-a limawan -f -" } });
    expect(failed.exitCode).toBe(4);
    expect(failed.stderr).toMatch(/undone/);
    expect(await host()).toEqual(before);
  });

  it("PF refusing to enable undoes the anchor load made alongside it", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    await installed();
    const before = await host();
    const failed = await sb.run(["up", "web"], { env: { PFCTL_STANDIN_FAIL: "-E" } });
    expect(failed.exitCode).toBe(4);
    expect(failed.stderr).toMatch(/could not enable PF/);
    expect(await host()).toEqual(before);
  });

  it("with the state file lost, PF refusing to enable leaves the rules already loaded in place", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    const first = await sb.run(["up", "web"]);
    expect(first.exitCode, first.stderr).toBe(0);
    const loaded = await read("anchorRules");
    expect(loaded).toMatch(/limawan:web:ssh/);
    // The documented recovery: move the state aside. Our rules are still loaded, our PF
    // reference is not known any more, so up must enable PF again and reload.
    rmSync(`${sb.paths.stateDir}/state.json`);
    const failed = await sb.run(["up", "web"], { env: { PFCTL_STANDIN_FAIL: "-E" } });
    expect(failed.exitCode).toBe(4);
    expect(await read("anchorRules")).toBe(loaded);
  });

  it("up --wait waits for the address without holding the state lock", async () => {
    await sb.addInstance("web", WEB);
    await sb.addInstance("db", DB);
    await sb.startVm("db");
    // web's lease comes only when the test gives it, after db's up: had web's up held the lock
    // while it waited, db's up could not finish first.
    await sb.startVm("web", { leaseDelayMs: 60_000 });
    const finished: string[] = [];
    const web = sb.runBackground(["up", "web", "--wait", "30"]).then((r) => (finished.push("web"), r));
    await new Promise((r) => setTimeout(r, 1_500)); // web's up is waiting for its lease by now
    const db = await sb.run(["up", "db"]);
    finished.push("db");
    expect(db.exitCode, db.stderr).toBe(0);
    await sb.setLease("web", "192.168.105.60");
    const webResult = await web;
    expect(webResult.exitCode, webResult.stderr).toBe(0);
    expect(finished).toEqual(["db", "web"]);
    const rules = await read("anchorRules");
    expect(rules).toMatch(/limawan:web:ssh/);
    expect(rules).toMatch(/limawan:db:postgres/);
  });

  it("two `up` processes at once lose nothing", async () => {
    await sb.addInstance("web", WEB);
    await sb.addInstance("db", DB);
    await sb.startVm("web");
    await sb.startVm("db");
    const [a, b] = await Promise.all([sb.run(["up", "web"]), sb.run(["up", "db"])]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    const rules = await read("anchorRules");
    expect(rules).toMatch(/limawan:web:ssh/);
    expect(rules).toMatch(/limawan:db:postgres/);
    const state = JSON.parse(readFileSync(`${sb.paths.stateDir}/state.json`, "utf8")) as { vms: Record<string, unknown> };
    expect(Object.keys(state.vms).sort()).toEqual(["db", "web"]);
  });

  it("takes over at once a state lock whose holder died, or that an earlier boot left", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    mkdirSync(sb.paths.stateDir, { recursive: true, mode: 0o700 });
    const lock = `${sb.paths.stateDir}/state.lock`;
    // What a watcher killed mid-reconcile leaves: its record, naming a process that is gone.
    const gone = execa(process.execPath, ["-e", "0"]);
    await gone;
    writeFileSync(lock, JSON.stringify({ pid: gone.pid, boot: currentBoot(), nonce: "dead", command: "watch" }));
    // Taken over without waiting: test/host/state-lock.test.ts counts the waiter's pauses (none);
    // here, the CLI's own outcome.
    const up = await sb.run(["up", "web"]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await read("anchorRules")).toMatch(/limawan:web:ssh/);
    // A live PID, but recorded in another boot: PIDs are reused after a restart.
    writeFileSync(lock, JSON.stringify({ pid: process.pid, boot: currentBoot() - 86_400, nonce: "old", command: "up web" }));
    expect((await sb.run(["down", "web"])).exitCode).toBe(0);
    expect(existsSync(lock)).toBe(false);
    // A live PID in this boot, but a process that started after the record was written: the
    // dead holder's PID, reused.
    const reuser = execa(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    try {
      writeFileSync(lock, JSON.stringify({ pid: reuser.pid, boot: currentBoot(), nonce: "reused", command: "up web", since: Date.now() - 60_000 }));
      const up2 = await sb.run(["up", "web"]);
      expect(up2.exitCode, up2.stderr).toBe(0);
    } finally {
      reuser.kill();
      await reuser.catch(() => undefined);
    }
  });

  it("never takes the state lock from a live holder, however long it holds it", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    mkdirSync(sb.paths.stateDir, { recursive: true, mode: 0o700 });
    // A live holder busy for 2 s: the CLI waits it out. That no age of the record and no length
    // of wait makes a live holder's lock stale is test/host/state-lock.test.ts's "never takes over
    // a live holder's lock, however old…" (it was a 7 s holder here).
    const holder = execa(process.execPath, ["-e", "setTimeout(() => {}, 2000)"]);
    writeFileSync(`${sb.paths.stateDir}/state.lock`, JSON.stringify({ pid: holder.pid, boot: currentBoot(), nonce: "busy", command: "up db" }));
    const up = sb.run(["up", "web"]);
    let upDone = false;
    void up.then(() => (upDone = true));
    await holder;
    expect(upDone).toBe(false); // still waiting when the holder ends
    const result = await up;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/ECOMPROMISED|\bat .*\.c?js:\d+/); // no stack trace, ever
  });

  it("a VM's address changing is picked up by the next up", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    await sb.setLease("web", "192.168.105.77");
    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    expect(await read("anchorNat")).toMatch(/-> 192\.168\.105\.77 port 22/);
  });

  it("status shows each forward applied, with counters, and --json carries the same", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    const text = await sb.run(["status"]);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/ssh\s+tcp\s+en0:2222\s+192\.168\.105\.\d+:22\s+applied/);
    expect(text.stdout).toMatch(/PF: enabled/);
    expect(text.stdout).toMatch(/anchor points: present/);
    const json = JSON.parse((await sb.run(["status", "--json"])).stdout) as { instances: Array<{ instance: string; forwards: Array<{ name: string; state: string; states: number | null }> }> };
    const web = json.instances.find((i) => i.instance === "web")!;
    expect(web.forwards.map((f) => [f.name, f.state])).toEqual([["ssh", "applied"], ["http", "applied"], ["dns", "applied"]]);
    // macOS's label counters carry no states: they come from `pfctl -v -s rules`.
    expect(web.forwards.map((f) => f.states)).toEqual([0, 0, 0]);
  });

  it("status marks a stopped VM's forwards stale, and a VM whose port another holds as conflicting", async () => {
    await sb.addInstance("web", WEB);
    await sb.addInstance("web2", WEB.replace("dns 53/udp as 5353", "dns 53/udp as 5354").replace("ssh 22 as 2222 limit 5/30s", "ssh 22 as 2223"));
    await sb.startVm("web");
    await sb.startVm("web2");
    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    const refused = await sb.run(["up", "web2"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/LW501.*already claimed by VM `web`/);
    await sb.stopVm("web", { force: true });
    const json = JSON.parse((await sb.run(["status", "--json"])).stdout) as { instances: Array<{ instance: string; forwards: Array<{ name: string; state: string }> }> };
    const state = (vm: string) => Object.fromEntries(json.instances.find((i) => i.instance === vm)!.forwards.map((f) => [f.name, f.state]));
    expect(state("web")).toEqual({ ssh: "stale", http: "stale", dns: "stale" });
    expect(state("web2")).toEqual({ ssh: "pending", http: "conflicting", dns: "pending" });
  });
});

describe("anchor points and the plugin header", () => {
  it("edits a symlinked pf.conf through the link (nix-darwin), keeping the link", async () => {
    const real = `${sb.paths.pfConf}.store`;
    renameSync(sb.paths.pfConf, real);
    symlinkSync(real, sb.paths.pfConf);
    await installed();
    expect(lstatSync(sb.paths.pfConf).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, "utf8")).toMatch(/^rdr-anchor "limawan"$/m);
    expect((await sb.run(["uninstall"])).exitCode).toBe(0);
    expect(lstatSync(sb.paths.pfConf).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, "utf8")).not.toMatch(/limawan/);
  });

  it("notices anchor points a macOS update removed, says so in status, and up restores them", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    await installed();
    const apple = readFileSync(sb.paths.pfConf, "utf8").replace(/# limawan: begin[^\n]*\n[^\n]*\n# limawan: end\n/g, "");
    // The update: a pristine pf.conf, loaded at boot.
    writeFileSync(sb.paths.pfConf, apple);
    await execa(standin("pfctl"), ["-f", sb.paths.pfConf], { env: sb.env });
    expect((await sb.run(["status"])).stdout).toMatch(/anchor points: missing/);
    const r = await sb.run(["up", "web"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/anchor points are missing .* restoring them/);
    expect(await read("mainNat")).toMatch(/rdr-anchor "limawan"/);
    expect(readFileSync(sb.paths.pfConf, "utf8")).toMatch(/^rdr-anchor "limawan"$/m);
  });

  it("carries its description in a #! file, found as Lima finds it (the first match anywhere), once", () => {
    // pkg/plugins: the regexp <limactl-desc>(.*?)</limactl-desc> over the whole file, if it starts with #!.
    const text = readFileSync(CLI, "utf8");
    expect(text.startsWith("#!")).toBe(true);
    const matches = [...text.matchAll(/<limactl-desc>(.*?)<\/limactl-desc>/g)].map((m) => m[1]!.trim());
    expect(matches).toEqual(["Expose Lima VM ports to the internet through macOS PF"]);
    expect(text.split("\n")[1]).toMatch(/<limactl-desc>/); // where a reader looks for it
  });
});

describe("status views", () => {
  it("--rules lists the loaded anchor rule by rule, each with the lima.yaml line it came from", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    const r = await sb.run(["status", "--rules"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const file = `${sb.paths.limaHome}/web/lima.yaml`;
    // WEB: ssh on line 5, http on line 6, dns on line 7; the routed-traffic block is the VM's.
    expect(r.stdout).toMatch(new RegExp(`^${file}:5 +rdr on en0 inet proto tcp from any to \\(en0\\) port 2222 tag "lw_web_ssh"`, "m"));
    expect(r.stdout).toMatch(new RegExp(`^${file}:7 +pass in quick on en0 inet proto udp .* label "limawan:web:dns"$`, "m"));
    expect(r.stdout).toMatch(/^VM web +block drop in quick on en0 inet from any to 192\.168\.105\.\d+$/m);
    expect(r.stderr).not.toMatch(/no longer matches/);
    const json = JSON.parse((await sb.run(["status", "--rules", "--json"])).stdout) as { matchesRecord: boolean; rules: Array<{ rule: string; origin: { line: number | null } | null }> };
    expect(json.matchesRecord).toBe(true);
    expect(json.rules.filter((x) => x.origin?.line === 6).every((x) => x.rule.includes("http"))).toBe(true);
  });

  it("--stats shows every counter of each forward; a VM `down` took out is shown as held down", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    const stats = await sb.run(["status", "--stats"]);
    expect(stats.stdout.split("\n")[0]).toMatch(/^INSTANCE +FORWARD +STATE +EVALUATIONS +PACKETS +BYTES +STATES$/);
    expect(stats.stdout).toMatch(/^web +ssh +applied +\d+ +\d+ +\d+ +\d+$/m);
    expect((await sb.run(["down", "web"])).exitCode).toBe(0);
    const status = await sb.run(["status", "web"]);
    expect(status.stdout).toMatch(/held down by `limactl limawan down`: the watch daemon leaves it alone; `limactl limawan up web` forwards it again/);
    expect(JSON.parse((await sb.run(["status", "--json"])).stdout).instances[0].heldDown).toBe(true);
  });
});

describe("one broken file costs only its own VM", () => {
  it("up --all applies the others and exits 1 naming it, with its diagnostics", async () => {
    await sb.addInstance("web", WEB);
    await sb.addInstance("db", DB);
    // 10 KB, 5,000 levels of nesting: what overflowed the YAML parser's stack before.
    await sb.addInstance("deep", `junk:\n  ${"- ".repeat(5000)}x\nnetworks:\n  - lima: shared\n`);
    await sb.startVm("web");
    await sb.startVm("db");
    await sb.startVm("deep"); // Lima reads it: yaml.v3 takes 10,000 levels
    const broken = WEB.replace("expose http 80 as 8080", "expose http 80 as 70000");
    writeFileSync(`${sb.paths.limaHome}/web/lima.yaml`, broken);
    const r = await sb.run(["up", "--all"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/web\/lima\.yaml:6:\d+: error LW101/);
    expect(r.stderr).toMatch(/error: web: annotation has errors/);
    expect(r.stderr).toMatch(/deep\/lima\.yaml:\d+:\d+: error LW006/);
    expect(r.stderr).toMatch(/error: deep: lima\.yaml cannot be read/);
    const rules = await read("anchorRules");
    expect(rules).toMatch(/limawan:db:postgres/);
    expect(rules).not.toMatch(/limawan:web:/);
  });
});

describe("refusals", () => {
  it("not macOS: exit 3", async () => {
    const r = await sb.run(["up", "web"], { env: { LIMAWAN_PLATFORM: "linux" } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/runs only on macOS/);
  });

  it("not root and no sudo to raise privileges with: exit 3 saying so", async () => {
    sb.removeSystemProgram("sudo");
    const r = await sb.run(["up", "web"], { uid: 65534 });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/`limactl limawan up` needs root, and \/usr\/bin\/sudo is missing/);
  });

  it("pfctl missing from /sbin: exit 3, whatever PATH holds", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    sb.removeSystemProgram("pfctl");
    const r = await sb.run(["up", "web"], { env: { PATH: `${STANDIN_BIN}:${sb.env.PATH}` } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/`pfctl` was not found at \/sbin\/pfctl/);
  });

  it("limactl missing: exit 3", async () => {
    const r = await sb.run(["up", "web"], { env: { PATH: sb.pathWithout("limactl") } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/`limactl` was not found on PATH/);
  });

  it("an unknown instance is the same error, exit 1, for every command that names one", async () => {
    await sb.addInstance("web", WEB);
    const commands = [["up", "nope"], ["status", "nope"], ["status", "web", "nope"], ["down", "nope"], ["ip", "nope"], ["expose", "nope", "http 80 as 8080"], ["unexpose", "nope", "http"], ["check", "nope"], ["plan", "nope"], ["diagnose", "nope"], ["harden", "nope"], ["start", "nope"]];
    const results = await Promise.all(commands.map((args) => sb.run(args)));
    expect(results.map((r, i) => [commands[i]!.join(" "), r.exitCode, r.stderr.split("\n")[0]])).toEqual(commands.map((args) => [args.join(" "), 1, "error: no Lima instance named `nope`"]));
  }, 120_000);

  it("unknown instance and stopped instance: exit 1", async () => {
    await sb.addInstance("web", WEB);
    const unknown = await sb.run(["up", "nope"]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/no Lima instance named `nope`/);
    const stopped = await sb.run(["up", "web"]);
    expect(stopped.exitCode).toBe(1);
    expect(stopped.stderr).toMatch(/`web` is stopped[\s\S]*limactl start web/);
  });

  it("no address after --wait: exit 1, saying what it waited for", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web", { leaseDelayMs: 60_000 });
    const r = await sb.run(["up", "web", "--wait", "1"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/no address for `web`.*after waiting 1s/);
  });

  it("refuses an address the guest reports that PF must never redirect to (loopback, or not private)", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    // No lease to vouch for the address: LimaWAN asks the guest, and a compromised guest lies.
    rmSync(sb.paths.dhcpdLeases, { force: true });
    const guestState = `${sb.paths.limaHome}/web/standin-guest.json`;
    // Which addresses are refused, and why, is test/engine/guest-address.test.ts's (plain facts:
    // loopback, not private, outside the network, the Mac's own, broadcast, leased to another…;
    // the loopback run here went there); here, what the CLI does with one.
    const guestSays = (address: string) => {
      const state = JSON.parse(readFileSync(guestState, "utf8")) as { addresses: Record<string, string> };
      writeFileSync(guestState, JSON.stringify({ ...state, addresses: { ...state.addresses, lima0: address } }));
    };
    guestSays("8.8.8.8");
    const r = await sb.run(["up", "web"]);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/refusing to forward to `web`/);
    expect(r.stderr).toMatch(/8\.8\.8\.8, reported by the guest itself, is not a private address/);
    expect(await read("anchorRules")).not.toMatch(/limawan:web/);
    // An address inside the network is taken from the guest as before.
    guestSays("192.168.105.50");
    const ok = await sb.run(["up", "web"]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(await read("anchorRules")).toMatch(/to 192\.168\.105\.50 port (= )?22 /);
  });

  it("invalid annotation: every diagnostic with file:line:column, exit 1, nothing applied", async () => {
    await sb.addInstance("web", "networks:\n  - lima: shared\nx-limawan: |\n  expose ssh 22 as 70000\n  expose http 80 as 8080 from rdr-to\n");
    await sb.startVm("web");
    const before = await host();
    const r = await sb.run(["up", "web"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/lima\.yaml:4:20: error LW101/);
    expect(r.stderr).toMatch(/lima\.yaml:5:31: error LW201/);
    expect(await host()).toEqual(before);
  });

  it("a host port a process on the Mac already listens on: exit 1, nothing applied", async () => {
    // A port the kernel picks: another run of the suite on this machine never holds the same one.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      await sb.addInstance("web", WEB.replace("http 80 as 8080", `http 80 as ${port}`));
      await sb.startVm("web");
      const before = await host();
      const r = await sb.run(["up", "web"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`host tcp port ${port} .* already used by a process on this Mac`));
      expect(await host()).toEqual(before);
    } finally {
      server.close();
    }
  });

  it("pfctl rejecting the rules: its message is shown, exit 4, nothing applied", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    const before = await host();
    const r = await sb.run(["up", "web"], { env: { PFCTL_STANDIN_FAIL: "-n -a limawan -f -", PFCTL_STANDIN_FAIL_MESSAGE: "stdin:7: syntax error" } });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/pfctl rejected the generated rules/);
    expect(r.stderr).toMatch(/stdin:7: syntax error/);
    expect(await host()).toEqual(before);
  });

  it("--dry-run prints the exact commands and changes nothing", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    const before = await host();
    const r = await sb.run(["up", "web", "--dry-run"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/would run: pfctl -a limawan -f - <<'EOF'/);
    expect(r.stdout).toMatch(/would run: pfctl -E/);
    expect(await host()).toEqual(before);
  });
});

describe("ip, expose, unexpose", () => {
  it("ip prints the VM's address from the DHCP leases", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    await sb.setLease("web", "192.168.105.42");
    const r = await sb.run(["ip", "web"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe("192.168.105.42");
  });

  it("expose and unexpose edit lima.yaml keeping every other byte", async () => {
    await sb.addInstance("db", DB);
    const file = `${sb.paths.limaHome}/db/lima.yaml`;
    const r = await sb.run(["expose", "db", "metrics 9187 as 19187"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(DB + '  - "expose metrics 9187 as 19187"\n');
    const u = await sb.run(["unexpose", "db", "metrics"]);
    expect(u.exitCode, u.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(DB);
  });

  it("expose refuses a statement that does not validate and leaves the file alone", async () => {
    await sb.addInstance("db", DB);
    const r = await sb.run(["expose", "db", "web 80 as 70000"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/LW101/);
    expect(readFileSync(`${sb.paths.limaHome}/db/lima.yaml`, "utf8")).toBe(DB);
  });
});
