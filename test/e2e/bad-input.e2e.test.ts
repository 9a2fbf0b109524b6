// Bad input through the real CLI: a clear diagnostic with file:line:column, exit 1, never a
// stack trace (issue: broken YAML, non-string x-limawan, port 70000, rdr-to smuggled in a
// name, a 1 MB line).
import { execa } from "execa";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CLI, createSandbox, type Sandbox } from "./harness.js";

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

const BAD_INPUTS: Array<[string, string, RegExp]> = [
  ["broken YAML", "networks:\n  - lima: shared\nx-limawan: [unclosed\n", /:4:1: error LW001/],
  ["a non-string x-limawan", "x-limawan:\n  port: 22\n", /:2:3: error LW002/],
  ["a port of 70000", "x-limawan: |\n  expose ssh 22 as 70000\n", /:2:20: error LW101/],
  ["rdr-to smuggled in a name", "x-limawan: |\n  expose web rdr-to 10.0.0.1 22 as 2222\n", /:2:14: error LW010/],
  ["rdr-to smuggled in an address", "x-limawan: |\n  expose web 80 as 8080 from 1.2.3.4 rdr-to 10.0.0.1\n", /:2:38: error LW012/],
  ["a 1 MB line", `x-limawan: |\n  expose web 80 as 8080 from ${"9".repeat(1_000_000)}\n`, /:2:3: error LW003/],
  ["a pfctl keyword as the interface", "x-limawan: |\n  interface inet6\n  expose web 80 as 8080\n", /:2:13: error LW401: `inet6` is a pfctl keyword, not an interface name/],
  ["U+0085 in a comment, a line break to Lima", 'x-limawan: |\n  expose web 80 as 8080 # \u0085mounts: [{location: "/", writable: true}]\n', /:2:27: error LW007: .*U\+0085/],
  ["5,000 nested sequences (10 KB)", `junk:\n${"- ".repeat(5_000)}x\nx-limawan: |\n  expose web 80 as 8080\n`, /:2:199: error LW006: .*\n(.*\n)*  hint: .*LimaWAN's own limit \(Lima accepts deeper files\)/],
  ["a file over 1 MiB", `x-limawan: |\n  expose web 80 as 8080\n${"k: v\n".repeat(210_000)}`, /:1:1: error LW005: lima.yaml is 1,050,037 bytes/],
];
// plan reads and judges a file exactly as check does (resolveTargets, compileFiles, the same
// diagnostics; each diagnostic is test/compiler/diagnostics.test.ts's): it takes the reading
// failure and the smuggled rdr-to, which must never reach the rules it prints.
const PLAN_INPUTS = new Set(["broken YAML", "rdr-to smuggled in a name", "rdr-to smuggled in an address"]);

describe.each([
  ["check", BAD_INPUTS],
  ["plan", BAD_INPUTS.filter(([what]) => PLAN_INPUTS.has(what))],
])("%s on bad input", (command, inputs) => {
  it.each(inputs)("%s", async (_what, text, expected) => {
    const target = file(`${command}-${_what.replace(/\W+/g, "-")}.yaml`, text);
    const r = await execa(process.execPath, [CLI, command, target, "--no-color"], { reject: false, env: { ...process.env, NO_COLOR: "1" } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(expected);
    expect(r.stderr).toMatch(/hint: /);
    expect(r.stderr).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/); // no stack trace
    expect(r.stdout).not.toMatch(/rdr-to/);
  });
});

describe("plan and check take only what up takes", () => {
  const run = (args: string[]) => execa(process.execPath, [CLI, ...args, "--no-color"], { reject: false, env: { ...process.env, NO_COLOR: "1" } });
  const web = file("web.yaml", "x-limawan: |\n  expose web 80 as 8080\n");

  // The other addresses never a VM's (unspecified, broadcast, multicast) are test/plugin/options.test.ts's "--vm-ip".
  it.each([["127.0.0.1", "loopback"]])("plan --vm-ip %s is a usage error naming why (%s)", async (address, range) => {
    const r = await run(["plan", web, "--vm-ip", address]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`--vm-ip ${address}: ${address} is a ${range} address, never a VM's`);
    expect(r.stdout).toBe("");
  });

  it("refuses two files for one VM name instead of emitting its tables, tags and labels twice (LW502)", async () => {
    mkdirSync(path.join(dir, "other"), { recursive: true });
    const again = file("other/web.yaml", "x-limawan: |\n  expose ssh as 2222 limit 5/30s\n");
    for (const command of ["plan", "check"]) {
      const r = await run([command, web, again]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`${again}:1:1: error LW502: VM \`web\` is already read from ${web}`);
      expect(r.stdout).not.toMatch(/lw_web/);
    }
  });

  it("check --name renames only a plain file, never an instance (usage, exit 2)", async () => {
    const sb = await createSandbox();
    try {
      await sb.addInstance("web", "networks:\n  - lima: shared\nx-limawan: |\n  expose web 80 as 8080\n");
      for (const command of ["check", "plan"]) {
        for (const args of [["web"], []]) {
          const r = await sb.run([command, ...args, "--name", "x"]);
          expect(r.exitCode, r.stderr).toBe(2);
          expect(r.stderr).toMatch(/--name applies to exactly one lima.yaml file, not to an instance/);
          expect(r.stdout).toBe("");
        }
      }
      const named = await sb.run(["check", web, "--name", "x", "--json"]);
      expect(named.exitCode, named.stderr).toBe(0);
      expect(JSON.parse(named.stdout).files[0].vm).toBe("x");
      expect((await sb.run(["check", web, "--name", "bad name"])).exitCode).toBe(2);
    } finally {
      await sb.cleanup();
    }
  });
});

describe("expose and unexpose on files they must not break", () => {
  let sb: Sandbox;
  let count = 0;
  beforeAll(async () => {
    sb = await createSandbox();
  });
  afterAll(async () => {
    await sb.cleanup();
  });
  /** A new instance holding `text`; its lima.yaml's path. */
  const instance = async (text: string) => {
    const name = `vm${++count}`;
    await sb.addInstance(name, text);
    return { name, file: path.join(sb.paths.limaHome, name, "lima.yaml") };
  };
  const HEAD = "networks:\n  - lima: shared\n";

  it("expose refuses U+0085 in a statement, which Lima would read as a line break before a new key", async () => {
    const text = `${HEAD}x-limawan: |\n  expose ssh as 2222\n`;
    const vm = await instance(text);
    const r = await sb.run(["expose", vm.name, 'http 80 as 8080 # \u0085mounts: [{location: "/", writable: true}]']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/the statement must be one line of printable ASCII/);
    expect(readFileSync(vm.file, "utf8")).toBe(text);
  });

  it("unexpose removes one statement of a one-line flow list, or of a quoted string, and keeps the others", async () => {
    const flow = await instance(`${HEAD}x-limawan: ["expose ssh as 2222", "expose http 80 as 8080"]\n`);
    expect((await sb.run(["unexpose", flow.name, "ssh"])).exitCode).toBe(0);
    expect(readFileSync(flow.file, "utf8")).toBe(`${HEAD}x-limawan: ["expose http 80 as 8080"]\n`);
    const quoted = await instance(`${HEAD}x-limawan: "expose ssh as 2222\\nexpose http 80 as 8080"\n`);
    expect((await sb.run(["unexpose", quoted.name, "http"])).exitCode).toBe(0);
    expect(readFileSync(quoted.file, "utf8")).toBe(`${HEAD}x-limawan: "expose ssh as 2222"\n`);
  });

  it("aliases: an edit another key would see is refused (exit 1), a billion laughs elsewhere is left alone", async () => {
    const text = `${HEAD}x-limawan:\n  - &s expose ssh as 2222\n  - expose http 80 as 8080\nother: *s\n`;
    const vm = await instance(text);
    const r = await sb.run(["unexpose", vm.name, "ssh"]);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/alias `\*s` and would change with it/);
    expect(readFileSync(vm.file, "utf8")).toBe(text);
    const laughs = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]", ..."bcdefghi".split("").map((k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(", ")}]`)].join("\n");
    const bomb = await instance(`${HEAD}${laughs}\nx-limawan: |\n  expose ssh as 2222\n`);
    const e = await sb.run(["expose", bomb.name, "http 80 as 8080"]);
    expect(e.exitCode, e.stderr).toBe(0);
    expect(readFileSync(bomb.file, "utf8")).toBe(`${HEAD}${laughs}\nx-limawan: |\n  expose ssh as 2222\n  expose http 80 as 8080\n`);
  });

  it("keeps a CRLF file CRLF", async () => {
    const vm = await instance("networks:\r\n  - lima: shared\r\n");
    expect((await sb.run(["expose", vm.name, "http 80 as 8080"])).exitCode).toBe(0);
    expect(readFileSync(vm.file, "utf8")).toBe("networks:\r\n  - lima: shared\r\nx-limawan: |\r\n  expose http 80 as 8080\r\n");
  });
});

describe("terminal escapes", () => {
  const run = (args: string[]) => execa(process.execPath, [CLI, ...args, "--no-color"], { reject: false, env: { ...process.env, NO_COLOR: "1" } });
  const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
  const TITLE = "\u001b]0;TITLE\u0007";

  it("never reach the terminal from lima.yaml, a file name or an argument: they are shown escaped", async () => {
    const target = file(`escape\u009b.yaml`, `x-limawan: |\n  interface ${TITLE}en0\n  expose web 80 as 8080\n`);
    for (const command of ["check", "plan"]) {
      const r = await run([command, target]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).not.toMatch(RAW_CONTROL);
      expect(r.stderr).toContain("escape\\x9b.yaml:2:13: error LW007");
      expect(r.stderr).toContain(`interface \\x1b]0;TITLE\\x07en0`);
    }
    const json = await run(["check", target, "--json"]);
    expect(json.stdout).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(json.stdout).files[0].file).toBe(target); // the same value, escaped in the JSON text
    const missing = await run(["check", path.join(dir, `${TITLE}.yaml`)]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).not.toMatch(RAW_CONTROL);
    expect(missing.stderr).toContain("\\x1b]0;TITLE\\x07.yaml");
    const unknown = await run(["check", `--${TITLE}`]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).not.toMatch(RAW_CONTROL);
  });
});

describe("large files", () => {
  const run = (args: string[]) => execa(process.execPath, [CLI, ...args, "--no-color"], { reject: false, env: { ...process.env, NO_COLOR: "1" } });
  const keys = (count: number) => Array.from({ length: count }, (_, i) => `k${i}: v\n`).join("");

  // 40,000 keys (389 KB) took 10-20 s to check while the yaml library compared each key with
  // every earlier one. That the check is linear is test/compiler/read-yaml.test.ts's (in
  // process, 40,000 keys and a repeated one) and `npm run bench`'s (the growth, time ∝ keys^k);
  // here, that the CLI reads such a file whole and accepts it (no wall-clock bound: it flakes
  // under load and another test already holds the growth).
  it("checks 60,000 top-level keys", async () => {
    const target = file("keys.yaml", `x-limawan: |\n  expose web 80 as 8080\n${keys(60_000)}`);
    const r = await run(["check", target]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/: ok, 1 forward/);
  }, 60_000);

  // 262,000 one-word lines (1 MiB) took hours: every diagnostic's code frame split the whole file
  // again. Each file's lines are indexed once and 50 diagnostics shown, then how many more;
  // `npm run bench` measures the time (it is a second or so here, not a test of it).
  it("shows 50 of a 1 MiB file's 262,000 diagnostics, then how many more; --json lists 1,000 and counts the rest", async () => {
    const target = file("bad-lines.yaml", `x-limawan: |\n${"  x\n".repeat(262_000)}`);
    const text = await run(["check", target]);
    expect(text.exitCode).toBe(1);
    const blocks = text.stderr.trimEnd().split("\n\n");
    expect(blocks.filter((b) => /error LW011: unknown statement `x`/.test(b))).toHaveLength(50);
    expect(blocks.at(-2)).toBe(`and 261,950 more in ${target}`);
    expect(blocks.at(-1)).toBe("262,000 error(s)");
    const json = await run(["check", target, "--json"]);
    const [only] = (JSON.parse(json.stdout) as { files: Array<{ diagnostics: Array<{ code: string; line: number; omitted?: { errors: number } }> }> }).files;
    expect(only!.diagnostics).toHaveLength(1001);
    expect(only!.diagnostics.at(-1)).toMatchObject({ code: "LW008", line: 1002, omitted: { errors: 261_000, warnings: 0 } });
  }, 60_000);

  // Reading the largest file takes about a second here: the signal lands while it is read.
  it("ends promptly on SIGTERM while it reads the largest file it accepts", async () => {
    let text = "x-limawan: |\n  expose web 80 as 8080\n";
    text += keys(Math.floor((1024 * 1024 - text.length) / 10)); // k12345: v = 10 bytes a line, near enough
    const target = file("largest.yaml", text.slice(0, 1024 * 1024 - 100).replace(/[^\n]*$/, ""));
    const subprocess = execa(process.execPath, [CLI, "check", target], { reject: false });
    await new Promise((resolve) => setTimeout(resolve, 600));
    // kill() is false when the process had already exited (then it finished, exit 0). A signal
    // it received must end it, by the signal: never does it run on regardless and finish.
    const delivered = subprocess.kill("SIGTERM");
    const r = await subprocess;
    if (delivered) expect(r.signal ?? `exit ${r.exitCode}`, r.stderr).toBe("SIGTERM");
    else expect(r.exitCode, r.stderr).toBe(0);
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

  it("refuses a pfctl keyword as the annotation's `interface` does (usage, exit 2)", async () => {
    const r = await plan("en0,inet6");
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--interface en0,inet6: `inet6` is a pfctl keyword, not an interface name/);
    expect(r.stdout).toBe("");
  });

  it("refuses an empty value as a usage error (exit 2)", async () => {
    for (const value of ["", ",", " "]) {
      const r = await plan(value);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/--interface .*: name at least one interface/);
      expect(r.stdout).toBe("");
    }
  });

  it("writes each interface's rules once, however often it is named", async () => {
    const r = await plan("en0,en0");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.match(/^rdr on en0 /gm)).toHaveLength(1);
  });
});
