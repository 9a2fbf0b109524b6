// A damaged state file never keeps forwards up (plugin/engine/state-recovery.ts): up and down
// move it aside, rebuild the state from PF's rules, say so and go on; status and doctor show the
// forwards as PF has them and report the damage.
import { execa } from "execa";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createSandbox, standin, type Sandbox } from "./harness.js";

vi.setConfig({ testTimeout: 90_000 });

const WEB = `networks:
  - lima: shared
x-limawan: |
  interface en0
  expose ssh 22 as 2222 limit 5/30s
  expose http 80 as 8080
`;
const DB = `networks:
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

const stateFile = () => path.join(sb.paths.stateDir, "state.json");
const keptCopies = () => readdirSync(sb.paths.stateDir).filter((n) => n.startsWith("state.json.damaged-"));
async function anchorRules(): Promise<string> {
  return (await execa(standin("pfctl"), ["-a", "limawan", "-sr"], { env: sb.env, reject: false })).stdout;
}

interface StatusJson {
  host: { stateFile: { damaged: string | null; movedAside: string[] } | null };
  instances: Array<{ instance: string; forwards: Array<{ name: string; host: string; interfaces: string[]; state: string }> }>;
}
async function statusJson(): Promise<StatusJson> {
  const r = await sb.run(["status", "--json"]);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatusJson;
}
async function stateCheck(): Promise<{ level: string; detail: string }> {
  const r = await sb.run(["doctor", "--json"]);
  return (JSON.parse(r.stdout) as { checks: Array<{ name: string; level: string; detail: string }> }).checks.find((c) => c.name === "state")!;
}

describe("a damaged state file", () => {
  it("is shown, not obeyed: status shows PF's forwards as applied, up --dry-run as root plans, down takes them down and keeps the others", async () => {
    await sb.addInstance("web", WEB);
    await sb.addInstance("db", DB);
    await sb.startVm("web");
    await sb.startVm("db");
    const up = await sb.run(["up", "web", "db"]);
    expect(up.exitCode, up.stderr).toBe(0);
    const damaged = readFileSync(stateFile(), "utf8").slice(0, 200); // cut off mid-write
    writeFileSync(stateFile(), damaged);

    // status, as root: the forwards as PF has them, on the interface they are loaded on.
    const seen = await statusJson();
    expect(seen.host.stateFile).toMatchObject({ damaged: expect.stringMatching(/JSON/), movedAside: [] });
    const web = seen.instances.find((i) => i.instance === "web")!;
    expect(web.forwards.map((f) => [f.name, f.state, `${f.interfaces.join(",")}:${f.host}`])).toEqual([
      ["ssh", "applied", "en0:2222"],
      ["http", "applied", "en0:8080"],
    ]);
    expect(readFileSync(stateFile(), "utf8")).toBe(damaged); // status changes nothing
    expect(await stateCheck()).toMatchObject({ level: "warn", detail: expect.stringMatching(/state\.json is damaged/) });

    // A dry run as root reads PF: nothing about --sudo, and nothing moved.
    const dry = await sb.run(["up", "web", "--dry-run"]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stderr).not.toMatch(/--sudo/);
    expect(dry.stderr).toMatch(/state\.json is damaged \(.*\): without --dry-run it is moved aside to .*state\.json\.damaged-/);
    expect(keptCopies()).toEqual([]);

    const down = await sb.run(["down", "web"]);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(down.stderr).toMatch(/state\.json was damaged \(.*\): moved it aside to .*state\.json\.damaged-.*; forwards loaded for db, web/);
    const rules = await anchorRules();
    expect(rules).not.toMatch(/limawan:web:/);
    expect(rules).toMatch(/label "limawan:db:postgres"/);

    // Kept as it was, root's alone; the new state knows db only.
    const [kept] = keptCopies();
    expect(keptCopies()).toHaveLength(1);
    expect(readFileSync(path.join(sb.paths.stateDir, kept!), "utf8")).toBe(damaged);
    expect(statSync(path.join(sb.paths.stateDir, kept!)).mode & 0o777).toBe(0o600);
    expect(Object.keys((JSON.parse(readFileSync(stateFile(), "utf8")) as { vms: object }).vms)).toEqual(["db"]);

    expect((await statusJson()).host.stateFile).toEqual({ damaged: null, movedAside: [path.join(sb.paths.stateDir, kept!)] });
    expect(await stateCheck()).toMatchObject({ level: "warn", detail: expect.stringContaining(kept!) });
    const text = await sb.run(["status"]);
    expect(text.stdout).toMatch(/rebuilt from PF after it was damaged; the damaged file is kept as .*state\.json\.damaged-/);
  });

  it("that is not JSON at all does not stop down --all: every forward goes, and what is lost is said", async () => {
    await sb.addInstance("web", WEB);
    await sb.startVm("web");
    expect((await sb.run(["up", "web"])).exitCode).toBe(0);
    writeFileSync(stateFile(), "\u0000\u0000garbage");
    const down = await sb.run(["down", "--all"]);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(down.stderr).toMatch(/a PF reference LimaWAN held is not known any more/);
    expect(await anchorRules()).not.toMatch(/limawan:/);
    expect(keptCopies()).toHaveLength(1);
    // And up works again from the rebuilt state.
    const again = await sb.run(["up", "web"]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/damaged/);
    expect(await anchorRules()).toMatch(/limawan:web:ssh/);
  });
});
