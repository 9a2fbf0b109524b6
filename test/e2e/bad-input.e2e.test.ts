// Bad input through the real CLI: a clear diagnostic with file:line:column, exit 1, never a
// stack trace (issue: broken YAML, non-string x-limawan, port 70000, rdr-to smuggled in a
// name, a 1 MB line).
import { execa } from "execa";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { CLI } from "./harness.js";

// Each CLI call here is a Node process plus stand-in processes (~1 s on 2 busy cores), and a
// test makes several: vitest's 5 s default is a measure of machine load, not of correctness.
vi.setConfig({ testTimeout: 30_000 });

const dir = mkdtempSync(path.join(os.tmpdir(), "limawan-bad-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const full = path.join(dir, name);
  writeFileSync(full, text);
  return full;
};

describe.each(["check", "plan"])("%s on bad input", (command) => {
  it.each([
    ["broken YAML", "networks:\n  - lima: shared\nx-limawan: [unclosed\n", /:4:1: error LW001/],
    ["a non-string x-limawan", "x-limawan:\n  port: 22\n", /:2:3: error LW002/],
    ["a port of 70000", "x-limawan: |\n  expose ssh 22 as 70000\n", /:2:20: error LW101/],
    ["rdr-to smuggled in a name", "x-limawan: |\n  expose web rdr-to 10.0.0.1 22 as 2222\n", /:2:14: error LW010/],
    ["rdr-to smuggled in an address", "x-limawan: |\n  expose web 80 as 8080 from 1.2.3.4 rdr-to 10.0.0.1\n", /:2:38: error LW012/],
    ["a 1 MB line", `x-limawan: |\n  expose web 80 as 8080 from ${"9".repeat(1_000_000)}\n`, /:2:3: error LW003/],
  ])("%s", async (_what, text, expected) => {
    const target = file(`${command}-${_what.replace(/\W+/g, "-")}.yaml`, text);
    const r = await execa(process.execPath, [CLI, command, target, "--no-color"], { reject: false, env: { ...process.env, NO_COLOR: "1" } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(expected);
    expect(r.stderr).toMatch(/hint: /);
    expect(r.stderr).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/); // no stack trace
    expect(r.stdout).not.toMatch(/rdr-to/);
  });
});

describe("plan --interface", () => {
  const target = file("iface.yaml", "x-limawan: |\n  expose web 80 as 8080\n");
  const plan = (iface: string) => execa(process.execPath, [CLI, "plan", target, "--interface", iface, "--no-color"], { reject: false, env: { ...process.env, NO_COLOR: "1" } });

  it("refuses the loopback as the annotation's `interface` does (usage, exit 2)", async () => {
    const r = await plan("en0,lo0");
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/`lo0` is the loopback interface/);
    expect(r.stdout).toBe("");
  });

  it("writes each interface's rules once, however often it is named", async () => {
    const r = await plan("en0,en0");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.match(/^rdr on en0 /gm)).toHaveLength(1);
  });
});
