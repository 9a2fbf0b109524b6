// bin/pfctl, sysctl, ifconfig, route, arp and launchctl answer the same through the stand-in server
// (MACOS_STANDIN_SERVER, as the e2e harness runs it) as run on their own by node: same output, exit codes, state
// and call log. limactl, run by the VM user in a sandbox: limactl-server.test.ts.
import { execa } from "execa";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { standinServer, STANDIN_BIN } from "../e2e/harness.js";

const scratch = mkdtempSync(path.join(os.tmpdir(), "limawan-standin-server-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const ANCHOR = 'table <t> persist\nrdr on en0 inet proto tcp from any to any port 8080 -> 192.168.105.2 port 80\npass in quick on en0 inet proto tcp from <t> to 192.168.105.2 port 80 keep state label "l"\n';
// Reads, a load from stdin, a file that is missing, a table change, refusals.
const CALLS: { program?: string; argv: string[]; input?: string; env?: Record<string, string> }[] = [
  { argv: ["-s", "info"] },
  { argv: ["-a", "limawan", "-f", "-"], input: ANCHOR },
  { argv: ["-a", "limawan", "-sr"] },
  { argv: ["-a", "limawan", "-sn"] },
  { argv: ["-a", "limawan", "-t", "t", "-T", "add", "203.0.113.9"] },
  { argv: ["-a", "limawan", "-t", "t", "-T", "show"] },
  { argv: ["-a", "limawan", "-f", "no-such-file.conf"] },
  { argv: ["-n", "-f", "-"], input: "rdr-to nonsense\n" },
  { argv: ["-Q"] },
  { argv: ["-s", "info"], env: { PFCTL_STANDIN_FAIL: "-s info", PFCTL_STANDIN_FAIL_MESSAGE: "pfctl: scripted failure" } },
  { program: "sysctl", argv: ["-n", "net.inet.ip.forwarding"] },
  { program: "sysctl", argv: ["-w", "net.inet.ip.forwarding=1"] },
  { program: "sysctl", argv: ["net.inet.ip"] },
  { program: "sysctl", argv: ["kern.nosuch"] },
  { program: "sysctl", argv: ["-Z"] },
  { program: "ifconfig", argv: ["-l", "-u"] },
  { program: "ifconfig", argv: ["en0"] },
  { program: "ifconfig", argv: ["lo0", "alias", "127.0.0.9"] },
  { program: "ifconfig", argv: ["-a"] },
  { program: "ifconfig", argv: ["en9"] },
  { program: "route", argv: ["-n", "get", "default"] },
  { program: "route", argv: ["-n", "get", "default"], env: { ROUTE_STANDIN_INTERFACE: "none" } },
  { program: "route", argv: ["flush"] },
  { program: "arp", argv: ["-a", "-n"] },
  { program: "arp", argv: ["-n", "192.168.105.7"] },
  { program: "arp", argv: ["-n", "192.168.105.8"] },
  // A job root loads, reads, loads again, unloads; what launchctl refuses. The plist's path is relative to the caller's directory.
  { program: "launchctl", argv: ["bootstrap", "system", "job.plist"] },
  { program: "launchctl", argv: ["print", "system/org.limawan.test"] },
  { program: "launchctl", argv: ["bootstrap", "system", "job.plist"] },
  { program: "launchctl", argv: ["bootstrap", "system", "missing.plist"] },
  { program: "launchctl", argv: ["bootout", "system/org.limawan.test"] },
  { program: "launchctl", argv: ["print", "system/org.limawan.test"] },
  { program: "launchctl", argv: ["load", "job.plist"] },
  { program: "launchctl", argv: [] },
];
const PROGRAMS = ["pfctl", "sysctl", "ifconfig", "arp", "launchctl"] as const;
const JOB_PLIST = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict><key>Label</key><string>org.limawan.test</string>
<key>ProgramArguments</key><array><string>/usr/local/bin/limawan-test</string><string>run</string></array></dict></plist>
`;

async function session(name: string, extraEnv: Record<string, string>) {
  const state = (program: string) => path.join(scratch, `${name}-${program}.json`);
  writeFileSync(state("arp"), JSON.stringify({ "192.168.105.7": "52:55:55:0a:0b:0c" }));
  writeFileSync(path.join(scratch, "job.plist"), JOB_PLIST, { mode: 0o644 });
  const results = [];
  for (const call of CALLS) {
    const program = call.program ?? "pfctl";
    const env = { PFCTL_STANDIN_STATE: state("pfctl"), SYSCTL_STANDIN_STATE: state("sysctl"), IFCONFIG_STANDIN_STATE: state("ifconfig"), ARP_STANDIN_STATE: state("arp"), LAUNCHCTL_STANDIN_STATE: state("launchctl"), ...extraEnv, ...call.env };
    const r = await execa(path.join(STANDIN_BIN, program), call.argv, { input: call.input ?? "", reject: false, cwd: scratch, env });
    results.push({ program, argv: call.argv, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr });
  }
  const log = (program: string) => readFileSync(`${state(program)}.calls`, "utf8").trim().split("\n").map((l) => {
    const { time: _time, ...entry } = JSON.parse(l) as Record<string, unknown>;
    return entry;
  });
  // Clock readings (seconds or milliseconds since 1970) differ between the two runs.
  const timeless = (program: string) => JSON.parse(readFileSync(state(program), "utf8"), (_key, value: unknown) => (typeof value === "number" && value > 1e9 ? "a time" : value)) as unknown;
  return { results, state: PROGRAMS.map(timeless), log: PROGRAMS.map(log) };
}

describe("the stand-ins through the stand-in server", () => {
  // 34 calls twice, half of them starting node each: more than the default budget on a loaded runner.
  it("answers every call as node running it on its own does", { timeout: 90_000 }, async () => {
    const alone = await session("alone", {});
    const served = await session("served", { MACOS_STANDIN_SERVER: await standinServer() });
    expect(served.results).toEqual(alone.results);
    expect(served.state).toEqual(alone.state);
    expect(served.log).toEqual(alone.log);
    expect(alone.results.map((r) => r.exitCode)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 5, 5, 0, 113, 1, 64]); // the refusals are refusals
    expect(alone.results.find((r) => r.program === "ifconfig" && r.argv[0] === "-a")!.stdout).toContain("inet 127.0.0.9 netmask 0xff000000"); // the alias, kept in the state
  });

  it("refuses a caller without the server's token; a caller running as another user runs it alone", async () => {
    const [port, , uid] = (await standinServer()).split(":");
    const call = (server: string) => execa(path.join(STANDIN_BIN, "pfctl"), ["-s", "info"], { reject: false, env: { PFCTL_STANDIN_STATE: path.join(scratch, "x.json"), MACOS_STANDIN_SERVER: server } });
    const refused = await call(`${port}:not-the-token:${uid}`);
    expect(refused.exitCode).toBe(70);
    expect(refused.stderr).toMatch(/gave no answer/);
    // The same wrong token, for another user: never sent, so node runs pfctl alone and answers.
    expect((await call(`${port}:not-the-token:${Number(uid) + 1}`)).exitCode).toBe(0);
  });

  it("reads stdin only for -f - or -f /dev/stdin, as pfctl's getopt reads the arguments", async () => {
    const server = await standinServer();
    const env = { PFCTL_STANDIN_STATE: path.join(scratch, "stdin.json"), MACOS_STANDIN_SERVER: server };
    for (const argv of [["-nf", "-"], ["-n", "-f/dev/stdin"], ["-n", "-f", "/dev/stdin"]]) {
      const r = await execa(path.join(STANDIN_BIN, "pfctl"), argv, { input: "rdr-to nonsense\n", reject: false, env });
      expect(r.exitCode, argv.join(" ")).toBe(1); // the text was read, and refused
      expect(r.stderr, argv.join(" ")).toMatch(/stdin|syntax error/i);
    }
    // `-a f-` names an anchor and `-s -` is refused: neither waits on a caller's open stdin.
    for (const argv of [["-af-", "-sr"], ["-s", "-"]]) {
      const child = execa(path.join(STANDIN_BIN, "pfctl"), argv, { stdin: "pipe", reject: false, env, timeout: 5_000 });
      const r = await child;
      expect(r.timedOut, argv.join(" ")).toBe(false);
    }
  });
});

