// Start-up cost of the built CLI, as ratios to `node -e 0` measured in the same run (issue:
// `--version` ≤ 1.5×, `plan` on the sample ≤ 2×, `status` ≤ 2×). Each command runs 15 times,
// interleaved with the baseline so machine load hits both alike; medians are compared.
//
// `status` runs against fixed-output shell stubs of limactl, pfctl, sysctl, route and launchctl
// (one running VM with a lease, its rules loaded): the Node stand-ins of the tests take ~60 ms
// each to start, which would measure them, not LimaWAN. The product runs the macOS tools by
// absolute path (plugin/host/run.ts SYSTEM_PROGRAMS), never from PATH, so as root the whole
// measurement (node -e 0 too) runs inside one private mount namespace with the stubs laid over
// /usr/sbin and /usr/bin (test/e2e/macos-namespace.sh, as the e2e tests do): status then spawns
// every read it makes on a Mac. Without root it says so and measures status with those reads
// failing at once (no such program), which understates it.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { codeCacheUsed } from "../code-cache.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const CLI = path.join(REPO, "plugin/bin/limactl-limawan");
const RUNS = 15;
const NAMESPACE = path.join(REPO, "test/e2e/macos-namespace.sh");
/** Set in the namespace's process: the stubs are in place, measure. */
const INSIDE = "LIMAWAN_BENCH_IN_NAMESPACE";
const TARGETS = { "--version": 1.5, "plan samples/lima.yaml --name web": 2, status: 2 };

export function stubHost() {
  const root = mkdtempSync(path.join(os.tmpdir(), "limawan-bench-"));
  const bin = path.join(root, "bin");
  const lima = path.join(root, "lima");
  mkdirSync(bin);
  mkdirSync(path.join(lima, "web"), { recursive: true });
  writeFileSync(path.join(lima, "web", "lima.yaml"), "networks:\n  - lima: shared\nx-limawan: |\n  interface en0\n  expose ssh 22 as 2222 limit 5/30s\n  expose http 80 as 8080\n");
  const instance = { name: "web", status: "Running", dir: path.join(lima, "web"), network: [{ lima: "shared", macAddress: "52:55:55:3a:7c:e1", interface: "lima0" }] };
  const leases = path.join(root, "dhcpd_leases");
  writeFileSync(leases, "{\n\tname=lima-web\n\tip_address=192.168.105.2\n\thw_address=1,52:55:55:3a:7c:e1\n\tidentifier=1,52:55:55:3a:7c:e1\n\tlease=0x7fffffff\n}\n");
  // limactl is the user's program, found on PATH; the macOS tools are at their absolute paths.
  const system = path.join(root, "system");
  const stub = (name, body) => {
    const dir = name === "limactl" ? bin : path.join(system, name === "launchctl" ? "usr/bin" : "usr/sbin");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(dir, name), 0o755);
  };
  stub("limactl", `case "$1" in --version) echo "limactl version 2.2.0";; list) echo '${JSON.stringify(instance)}';; esac`);
  stub("pfctl", [
    'case "$*" in',
    '  *"-s labels"*) echo "limawan:web:ssh 10 20 3000 10 1500 10 1500"; echo "limawan:web:http 4 8 800 4 400 4 400";;',
    '  "-sn") printf \'rdr-anchor "com.apple/*" all\\nrdr-anchor "limawan" all\\n\';;',
    '  "-sr") printf \'anchor "com.apple/*" all\\nanchor "limawan" all\\n\';;',
    '  "-s info") echo "Status: Enabled for 0 days 01:00:00           Debug: Urgent";;',
    '  "-s References") echo "TOKENS:";;',
    "esac",
  ].join("\n"));
  stub("sysctl", "echo 1");
  stub("launchctl", "exit 113");
  stub("route", "printf 'interface: en0\\n'");
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, LIMA_HOME: lima, LIMAWAN_STATE_DIR: path.join(root, "state"), LIMAWAN_DHCPD_LEASES: leases, LIMAWAN_LAUNCHD_DIR: root, LIMAWAN_PF_CONF: path.join(root, "pf.conf"), NO_COLOR: "1" };
  return { env, system, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

function timeOnce(args, env) {
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, args, { stdio: "ignore", env, cwd: REPO });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** Whether the built CLI compiles with its V8 code cache here (plugin/start.cts): without it, starts are slower. */
function codeCache(env) {
  return codeCacheUsed(path.join(REPO, "dist/limactl-limawan"), env) ? "used" : "NOT used (made by another node or build: npm run build)";
}

export async function run() {
  const stub = stubHost();
  try {
    const canOverlay = process.getuid?.() === 0 && existsSync("/usr/bin/unshare");
    if (canOverlay) {
      execFileSync("unshare", ["--mount", "--propagation", "private", "/bin/sh", NAMESPACE, stub.system, "0", "0", "-", REPO, "--", process.execPath, fileURLToPath(import.meta.url)], {
        env: { ...stub.env, [INSIDE]: "1" },
        stdio: "inherit",
      });
    } else measure(stub.env, "not root: the macOS tools are not at their absolute paths, so status's PF, sysctl and launchctl reads fail at once; status is understated");
  } finally {
    stub.cleanup();
  }
}

function measure(env, caveat) {
  const commands = Object.keys(TARGETS);
  const samples = { baseline: [], ...Object.fromEntries(commands.map((c) => [c, []])) };
  for (let i = 0; i < RUNS; i++) {
    samples.baseline.push(timeOnce(["-e", "0"], env));
    for (const command of commands) samples[command].push(timeOnce([CLI, ...command.split(" ")], env));
  }
  const base = median(samples.baseline);
  console.log(`\nLimaWAN start-up (built CLI, median of ${RUNS} interleaved runs; node -e 0 took ${base.toFixed(0)} ms; V8 code cache ${codeCache(env)})`);
  console.log(`  ${caveat}`);
  for (const command of commands) {
    const ratio = median(samples[command]) / base;
    const verdict = ratio <= TARGETS[command] ? "within" : "OVER";
    console.log(`  ${command.padEnd(36)} ${median(samples[command]).toFixed(0).padStart(5)} ms  ${ratio.toFixed(2)}x node -e 0  (target ≤ ${TARGETS[command]}x: ${verdict})`);
  }
}

if (import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  if (process.env[INSIDE]) measure(process.env, "status's reads spawn stubs at the macOS tools' absolute paths (a private mount namespace over /usr/sbin and /usr/bin)");
  else await run();
}
