#!/usr/bin/env node
// `npm run test:darwin`: the real-PF suite (test/darwin/*.test.ts) inside a PF session
// (session.mjs) that this process opens before the tests and closes after them — from
// `finally`, and on SIGINT/SIGTERM/SIGHUP, which stop the tests first. The tests run in a child
// vitest, so however they end, this process is still there to put PF back and compare it.
//
// It fails, never skips: not macOS, not root, or no pfctl/ifconfig is an error with a reason.
// LIMAWAN_PLATFORM and LIMAWAN_DARWIN_TEST_COMMAND (a JSON argv run instead of vitest) exist
// for this script's own tests on Linux, against the stand-ins (test/darwin-session/).
//
// A recording run (LIMAWAN_RECORD_FIXTURES=1) also leaves what a red run must not lose in the
// evidence directory (evidence/, or LIMAWAN_EVIDENCE_DIR): host dumps before and after
// (host-dump.sh), this script's own log, a JUnit report of the tests (unless other reporters
// are asked for), and PF's state at each failed test (failure-evidence.ts). The tests record
// pfctl's outputs themselves, before they check them (test/fixtures/macos/recorded/).
import { spawn, spawnSync } from "node:child_process";
import { accessSync, appendFileSync, chownSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const recording = process.env.LIMAWAN_RECORD_FIXTURES === "1";
const evidenceDir = recording ? path.resolve(process.env.LIMAWAN_EVIDENCE_DIR || path.join(REPO, "evidence")) : null;

/** Written as root under sudo: give it to the user who ran sudo, like the rest of their clone. */
function giveBack(file) {
  const uid = Number(process.env.SUDO_UID);
  const gid = Number(process.env.SUDO_GID);
  if (uid > 0 && Number.isInteger(gid)) chownSync(file, uid, gid);
}

function keep(name, text) {
  const file = path.join(evidenceDir, name);
  writeFileSync(file, text);
  giveBack(file);
}

const log = (line) => {
  process.stderr.write(`test:darwin: ${line}\n`);
  if (evidenceDir) {
    appendFileSync(path.join(evidenceDir, "run.log"), `${new Date().toISOString()} ${line}\n`);
    giveBack(path.join(evidenceDir, "run.log"));
  }
};

/** host-dump.sh's report of this Mac and its PF, into the evidence directory. */
function dumpHost(name) {
  const r = spawnSync("/bin/sh", [fileURLToPath(new URL("host-dump.sh", import.meta.url))], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  keep(name, r.error ? `host-dump.sh did not run: ${r.error.message}\n` : r.stdout);
}

/** vitest's arguments: the caller's, and on a recording run a JUnit report beside the default one unless reporters were chosen. */
function vitestArgs(args) {
  if (!evidenceDir || args.some((a) => a.startsWith("--reporter"))) return args;
  return [...args, "--reporter=default", "--reporter=junit", `--outputFile.junit=${path.join(evidenceDir, "darwin.junit.xml")}`];
}

function onPath(program) {
  return (process.env.PATH ?? "").split(path.delimiter).filter(Boolean).some((dir) => {
    try {
      accessSync(path.join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function preflight() {
  const platform = process.env.LIMAWAN_PLATFORM || process.platform;
  if (platform !== "darwin") return `needs macOS: it drives the kernel's PF through the real pfctl, and this is ${platform}. \`npm test\` is the suite that runs anywhere.`;
  if (process.geteuid?.() !== 0) return 'needs root, as pfctl does (/dev/pf): run `sudo -E env "PATH=$PATH" npm run test:darwin`.';
  for (const program of ["pfctl", "ifconfig"]) if (!onPath(program)) return `\`${program}\` is not on PATH (${process.env.PATH ?? ""}); macOS has it in /sbin.`;
  return null;
}

function run(program) {
  return (args, input) => {
    const r = spawnSync(program, args, { input, encoding: "utf8", stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    if (r.error) return { exitCode: 127, stdout: "", stderr: `${program}: ${r.error.message}` };
    return { exitCode: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
  };
}

async function main() {
  if (evidenceDir) {
    mkdirSync(evidenceDir, { recursive: true });
    giveBack(evidenceDir);
    // Nothing from an earlier run may pass for this one's.
    rmSync(path.join(evidenceDir, "darwin-failures"), { recursive: true, force: true });
    for (const name of ["host-before.txt", "host-after.txt", "darwin.junit.xml"]) rmSync(path.join(evidenceDir, name), { force: true });
    writeFileSync(path.join(evidenceDir, "run.log"), "");
  }
  const refusal = preflight();
  if (refusal) {
    log(refusal);
    return 1;
  }
  if (evidenceDir) dumpHost("host-before.txt");
  let session;
  try {
    session = await import("./session.mjs");
  } catch (error) {
    log(`cannot load the session code (${error.message}); \`npm run test:darwin\` builds first, or run \`npm run build\`.`);
    return 1;
  }

  let signalled = null;
  let child = null;
  const onSignal = (signal) => {
    if (signalled) return log("restoring PF; wait for it");
    signalled = signal;
    log(`${signal}: stopping the tests, then restoring PF`);
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"), 10_000).unref();
    }
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, onSignal);

  const dir = mkdtempSync(path.join(os.tmpdir(), "limawan-darwin-"));
  let open = null;
  let exitCode = 1;
  let keepDir = false;
  try {
    try {
      open = session.openSession({
        host: { pfctl: run("pfctl"), ifconfig: run("ifconfig"), sysctl: run("sysctl") },
        dir,
        pid: process.pid,
        pfConf: readFileSync(process.env.LIMAWAN_PF_CONF || "/etc/pf.conf", "utf8"),
        acceptRuntimeRules: process.env.LIMAWAN_DARWIN_ACCEPT_RUNTIME_RULES === "1",
        log,
      });
    } catch (error) {
      log(error.message);
      return 1;
    }
    const description = path.join(dir, "session.json");
    writeFileSync(description, JSON.stringify({ ...open.names, ports: open.ports, mainText: open.mainText, tokenFile: open.tokenFile, dir }, null, 2));
    log(`test ports: ${open.ports.low}–${open.ports.high}, ${open.ports.why}`);
    if (signalled) return signalled === "SIGINT" ? 130 : 143;

    const command = process.env.LIMAWAN_DARWIN_TEST_COMMAND
      ? JSON.parse(process.env.LIMAWAN_DARWIN_TEST_COMMAND)
      : [process.execPath, path.join(REPO, "node_modules/vitest/vitest.mjs"), "run", "--config", path.join(REPO, "test/darwin/vitest.config.ts"), ...vitestArgs(process.argv.slice(2))];
    const env = { ...process.env, LIMAWAN_DARWIN_SESSION: description, ...(evidenceDir ? { LIMAWAN_EVIDENCE_DIR: evidenceDir } : {}) };
    child = spawn(command[0], command.slice(1), { cwd: REPO, stdio: "inherit", env });
    const [code, signal] = await new Promise((resolve) => {
      child.once("error", (error) => {
        log(`could not start the tests: ${error.message}`);
        resolve([1, null]);
      });
      child.once("exit", (c, s) => resolve([c, s]));
    });
    exitCode = signalled ? (signalled === "SIGINT" ? 130 : 143) : signal ? 1 : code ?? 1;
  } finally {
    if (open) {
      const left = open.close();
      if (left.length > 0) {
        log(`PF is NOT as it was before the tests:\n- ${left.join("\n- ")}`);
        keepDir = left.some((l) => l.startsWith("loading the main ruleset as it was"));
        exitCode = 1;
      } else {
        log("PF restored: main ruleset, interface skip flags, enable references, status and the limawan anchor read back as before the tests");
      }
    }
    if (keepDir) log(`kept ${dir} (it holds the main ruleset to restore)`);
    else rmSync(dir, { recursive: true, force: true });
    if (evidenceDir) {
      dumpHost("host-after.txt");
      log(`evidence in ${evidenceDir}, pfctl's recorded outputs in ${path.join(REPO, "test/fixtures/macos/recorded")} (README "Real-PF tests on a Mac" says how to send them)`);
    }
  }
  return exitCode;
}

process.exitCode = await main();
