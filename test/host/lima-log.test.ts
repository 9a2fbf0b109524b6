import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { printable } from "../../compiler/printable.js";
import { Lima, limaCannotRead, limaCannotReadError, parseInstanceList } from "../../plugin/host/lima.js";
import { fatalMessage, instanceErrors, MAX_LOG_VALUE, parseLogLine, parseLogLines } from "../../plugin/host/lima-log.js";
import type { CommandResult, Runner } from "../../plugin/host/run.js";

const FIXTURES = new URL("../fixtures/lima/", import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), "utf8");

describe("a real `limactl list --json` (fixtures/list-real.*: Broken, Stopped, invalid, Running, YAML error)", () => {
  const instances = parseInstanceList(fixture("list-real.json"), fixture("list-real.stderr"));

  it("reads every instance with its status, and Lima's errors from stderr", () => {
    expect(instances.map((i) => [i.name, i.status])).toEqual([["broken", "Broken"], ["db", "Stopped"], ["invalid", ""], ["web", "Running"], ["yamlerror", ""]]);
    expect(instances.find((i) => i.name === "invalid")?.errors).toBe("field `base` must be empty for YAML validation");
    expect(instances.find((i) => i.name === "broken")?.errors).toBe("open /tmp/lf/.lima/broken/lima.yaml: no such file or directory");
    expect(instances.find((i) => i.name === "yamlerror")?.errors).toMatch(/^failed to unmarshal YAML \(main file `[^`]+`\): \[3:1\] ',' or ']' must be specified\n   1 \| images: \[\n/);
    expect(instances.find((i) => i.name === "db")?.errors).toBeUndefined();
  });

  it("tells an instance Lima cannot read (no status, no network) from one it can", () => {
    expect(instances.filter(limaCannotRead).map((i) => i.name)).toEqual(["invalid", "yamlerror"]);
    expect(instances.find((i) => i.name === "invalid")?.network).toEqual([]);
    expect(instances.find((i) => i.name === "web")?.network).toEqual([{ socket: "/tmp/lf/vmnet.sock", macAddress: expect.stringMatching(/^52:55:55:/), interface: "lima0", metric: 100 }]);
  });

  it("refuses with Lima's own words, escaped, and says where to look", () => {
    const error = limaCannotReadError(instances.find((i) => i.name === "yamlerror")!, "/tmp/lf/.lima/yamlerror/lima.yaml");
    expect(error.message).toMatch(/^Lima cannot read the lima.yaml of `yamlerror`: failed to unmarshal YAML .*\\x0a   1 \| images/);
    expect(error.message).not.toMatch(/\n/);
    expect(error.hint).toBe("Fix /tmp/lf/.lima/yamlerror/lima.yaml: `limactl validate /tmp/lf/.lima/yamlerror/lima.yaml` checks it, `limactl list` repeats Lima's error.");
  });
});

describe("logrus text lines", () => {
  it("reads bare and Go-quoted values, escapes decoded", () => {
    const entry = parseLogLine('time="2026-12-07T23:20:01Z" level=warning msg="a \\"quoted\\" \\\\ tab\\there\\u2028\\x1b[31m" errors=[bare] n=1');
    expect(entry?.get("level")).toBe("warning");
    expect(entry?.get("msg")).toBe('a "quoted" \\ tab\there\u2028\x1b[31m');
    expect(printable(entry!.get("msg")!)).toBe('a "quoted" \\ tab\\x09here\\u2028\\x1b[31m');
    expect(entry?.get("errors")).toBe("[bare]");
    expect(entry?.get("n")).toBe("1");
  });

  it("skips what is not a logrus line, and a quote left open", () => {
    expect(parseLogLines("limactl: must not run as the root user\n\nWARN[0000] on a terminal\n")).toEqual([]);
    expect(parseLogLine('time="x" level=info msg="never closed')).toBeNull();
    expect(parseLogLine('level=info msg="bad escape \\q"')).toBeNull(); // Go's %q never writes one
  });

  it("bounds each value", () => {
    const long = "x".repeat(MAX_LOG_VALUE * 3);
    expect(parseLogLine(`level=warning msg="instance \`a\` has errors" errors="[${long}]"`)!.get("errors")).toHaveLength(MAX_LOG_VALUE + 1);
  });

  it("finds each instance's errors, and a failed command's last words", () => {
    expect(instanceErrors(parseLogLines('level=warning msg="instance `w b` has errors" errors="[one two]"\nlevel=warning msg="other"'))).toEqual(new Map([["w b", "one two"]]));
    expect(fatalMessage(parseLogLines(fixture("validate-yamlerror.stderr")))).toMatch(/^failed to unmarshal YAML \(\/tmp\/lf\/\.lima\/yamlerror\/lima\.yaml\): \[3:1\]/);
    expect(fatalMessage(parseLogLines('level=info msg="`f`: OK"'))).toBeNull();
  });
});

describe("why Lima cannot read a file", () => {
  const lima = (validate: CommandResult) => {
    const calls: string[][] = [];
    const runner = { dryRun: false, run: async (_program: string, args: readonly string[]) => (calls.push([...args]), validate) } as unknown as Runner;
    return { lima: new Lima(runner, "/home/u/.lima"), calls };
  };
  const invalid = { name: "web", status: "", dir: "/home/u/.lima/web", network: [] };

  it("is the listing's error when it logged one, without asking again", async () => {
    const { lima: l, calls } = lima({ exitCode: 0, stdout: "", stderr: "" });
    expect(await l.cannotReadReason({ ...invalid, errors: "field `base` must be empty for YAML validation" })).toBe("field `base` must be empty for YAML validation");
    expect(calls).toEqual([]);
  });

  it("else what `limactl validate FILE` says, else that Lima gave none", async () => {
    const failing = lima({ exitCode: 1, stdout: "", stderr: 'time="t" level=fatal msg="failed to validate YAML file `/home/u/.lima/web/lima.yaml`: field `cpus` must be set"\n' });
    expect(await failing.lima.cannotReadReason(invalid)).toBe("failed to validate YAML file `/home/u/.lima/web/lima.yaml`: field `cpus` must be set");
    expect(failing.calls).toEqual([["validate", "/home/u/.lima/web/lima.yaml"]]);
    expect(await lima({ exitCode: 0, stdout: "", stderr: "" }).lima.cannotReadReason(invalid)).toMatch(/Lima gave no reason/);
  });
});
