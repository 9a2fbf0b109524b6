// The pfctl stand-in prints what macOS pfctl prints: each fixture of test/fixtures/macos/ (hand-
// made from docs/PFCTL-OUTPUT.md, or recorded on a Mac by the darwin suite) is replayed against
// the stand-in put in the same state, and the outputs must match but for numbers (tokens,
// counters, ports, ages) and column padding. When a recording disagrees, the stand-in changes.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { insertAnchorPoints } from "../../compiler/pf/pf-conf-edit.js";
import { APPLE_PF_CONF } from "../apple-pf-conf.js";
import { pfctlFixtures, type PfctlFixture } from "../pfctl-fixtures.js";

const PFCTL = fileURLToPath(new URL("bin/pfctl", import.meta.url));
const scratch = mkdtempSync(path.join(os.tmpdir(), "limawan-pfctl-fidelity-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Output { exitCode: number; stdout: string; stderr: string }

/** A fresh stand-in, put in the state the fixture was taken in; runs pfctl with `argv`. */
function standinFor(f: PfctlFixture): (argv: string[], input?: string) => Output {
  const state = path.join(mkdtempSync(path.join(scratch, `${f.case}-`)), "pf.json");
  const pfctl = (argv: string[], input?: string): Output => {
    const r = spawnSync(PFCTL, argv, { input, encoding: "utf8", env: { ...process.env, PFCTL_STANDIN_STATE: state, PFCTL_STANDIN_ALLOW_USER: "1" } });
    return { exitCode: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const must = (r: Output) => {
    if (r.exitCode !== 0) throw new Error(`setting up ${f.case}: ${r.stderr}`);
    return r;
  };
  const setup = f.setup ?? {};
  if (setup.main !== undefined) {
    const inserted = insertAnchorPoints(APPLE_PF_CONF);
    if (!inserted.ok) throw new Error(inserted.reason);
    const file = `${state}.conf`;
    writeFileSync(file, setup.main === "apple+limawan" ? inserted.text : setup.main);
    must(pfctl(["-f", file]));
  }
  const anchor = f.argv[f.argv.indexOf("-a") + 1];
  if (setup.anchorText !== undefined) must(pfctl(["-a", anchor!, "-f", "-"], setup.anchorText));
  for (const [table, entries] of Object.entries(setup.tables ?? {})) {
    // Put there as overload does, long enough ago for `-T expire 0`.
    const json = JSON.parse(readFileSync(state, "utf8"));
    Object.assign(json.anchors[anchor!].tables[table], { entries, added: {} });
    writeFileSync(state, JSON.stringify(json));
  }
  for (let i = 0; i < (setup.references ?? 0); i++) must(pfctl(["-E"]));
  return pfctl;
}

/** The token to release: the stand-in's own, unless the fixture releases one nobody holds. */
function argvFor(f: PfctlFixture, pfctl: (argv: string[]) => Output): string[] {
  const x = f.argv.indexOf("-X");
  if (x < 0 || f.expect.outcome === "unknown-token") return f.argv;
  const held = /^\S+\s+\S+\s+(\d{6,})/m.exec(pfctl(["-s", "References"]).stdout.split("\n").slice(2).join("\n"))?.[1];
  return f.argv.map((arg, i) => (i === x + 1 ? held! : arg));
}

/** Numbers and padding vary by run; References' process names by host. */
function shape(text: string): string {
  return text
    .split("\n")
    .map((line) => line.replace(/\d+/g, "N").replace(/[ \t]+/g, " ").replace(/^N (.+?) N N days N:N:N$/, "N <process> N N days N:N:N"))
    .join("\n");
}

function replay(f: PfctlFixture): void {
  const pfctl = standinFor(f);
  const got = pfctl(argvFor(f, pfctl));
  expect({ exitCode: got.exitCode, stdout: shape(got.stdout), stderr: shape(got.stderr) }).toEqual({ exitCode: f.exitCode, stdout: shape(f.stdout), stderr: shape(f.stderr) });
}

const handmade = pfctlFixtures("handmade");
const recorded = pfctlFixtures("recorded");

describe("pfctl stand-in against macOS pfctl's formats (hand-made fixtures)", () => {
  it.each(handmade.map((f) => [f.case, f] as const))("prints %s as macOS does", (_, f) => replay(f));
});

describe.runIf(recorded.length > 0)("pfctl stand-in against outputs recorded on a Mac", () => {
  it.each(recorded.map((f) => [f.case, f] as const))("prints %s as the Mac did", (_, f) => replay(f));
});
