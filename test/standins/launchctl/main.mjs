// LimaWAN test stand-in for macOS launchctl(1), modern subcommands only:
//   launchctl bootstrap DOMAIN PLIST…     load a job (validated; never run)
//   launchctl bootout DOMAIN/LABEL | DOMAIN PLIST
//   launchctl print DOMAIN/LABEL
//   launchctl kickstart [-k] [-p] DOMAIN/LABEL
// State: $LAUNCHCTL_STANDIN_STATE (JSON {"services": {"system/LABEL": {...}}});
// calls: $LAUNCHCTL_STANDIN_STATE.calls. Changing the system domain needs root, as on macOS.
// The job's program is recorded, never executed: tests assert what launchd was told to run.
// bin/launchctl runs it through the stand-in server or on its own (lib/served.bash).
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import plist from "plist";
import { Exit, logCall, runCall } from "../lib/call.mjs";
import { readState, writeState } from "../lib/state-file.mjs";

/** One launchctl call (lib/call.mjs): prints into `call`, logs it beside the state, returns the exit code. */
export function main(call) {
  const file = call.env.LAUNCHCTL_STANDIN_STATE;
  if (!file) {
    call.stderr += "launchctl (LimaWAN test stand-in): LAUNCHCTL_STANDIN_STATE is not set; refusing to guess where the state lives\n";
    return 1;
  }
  let code;
  try {
    code = runCall(call, () => launchctl(call, file));
  } catch (error) {
    // As an uncaught exception: logged with what was printed so far, then rethrown.
    logCall(file, call, 1);
    throw error;
  }
  logCall(file, call, code);
  return code;
}

function launchctl(call, file) {
  const state = readState(file, { services: {} });
  state.services ??= {};
  const [sub, ...rest] = call.argv;
  switch (sub) {
    case "bootstrap": {
      const [domain, ...plists] = rest;
      if (!domain || plists.length === 0 || !isDomain(domain)) usageFor(call, "bootstrap");
      if (!mayChange(call, domain)) exit(call, 1, `Bootstrap failed: 1: ${ERRNO[1]}`);
      for (const plistPath of plists) {
        const job = readJob(path.resolve(call.cwd, plistPath), domain);
        if (!job) exit(call, 5, `Bootstrap failed: 5: ${ERRNO[5]}`);
        const key = `${domain}/${job.Label}`;
        // Bootstrapping a loaded job fails the same way (the well-known "5: Input/output error").
        if (state.services[key]) exit(call, 5, `Bootstrap failed: 5: ${ERRNO[5]}`);
        const running = job.RunAtLoad === true || job.KeepAlive === true || (job.KeepAlive && typeof job.KeepAlive === "object");
        state.services[key] = {
          label: job.Label,
          domain,
          path: path.resolve(call.cwd, plistPath),
          program: job.Program ?? job.ProgramArguments[0],
          arguments: job.ProgramArguments ?? [job.Program],
          environment: job.EnvironmentVariables ?? {},
          stdoutPath: job.StandardOutPath ?? null,
          stderrPath: job.StandardErrorPath ?? null,
          runAtLoad: job.RunAtLoad === true,
          keepAlive: job.KeepAlive ?? false,
          state: running ? "running" : "not running",
          pid: running ? fakePid() : null,
          runs: running ? 1 : 0,
          plist: job,
        };
      }
      writeState(file, state);
      break;
    }
    case "bootout": {
      const [target, ...plists] = rest;
      if (!target) usageFor(call, "bootout");
      let keys;
      let domain;
      if (isDomain(target)) {
        domain = target;
        if (plists.length === 0) usageFor(call, "bootout");
        keys = plists.map((p) => {
          let label = null;
          try {
            label = parsePlist(readFileSync(path.resolve(call.cwd, p), "utf8"))?.Label;
          } catch {
            // unreadable: refused below
          }
          if (typeof label !== "string") exit(call, 5, `Boot-out failed: 5: ${ERRNO[5]}`);
          return `${target}/${label}`;
        });
      } else {
        const service = serviceTarget(target);
        if (!service) usageFor(call, "bootout");
        domain = service.domain;
        keys = [service.key];
      }
      if (!mayChange(call, domain)) exit(call, 1, `Boot-out failed: 1: ${ERRNO[1]}`);
      for (const key of keys) {
        if (!state.services[key]) exit(call, 3, `Boot-out failed: 3: ${ERRNO[3]}`);
        delete state.services[key];
      }
      writeState(file, state);
      break;
    }
    case "print": {
      const [target] = rest;
      if (!target) usageFor(call, "print");
      const service = serviceTarget(target);
      if (!service) {
        if (isDomain(target)) exit(call, 1, "launchctl (LimaWAN test stand-in): printing a whole domain is not modelled");
        exit(call, 64, `Unrecognized target specifier.\nUsage: launchctl print <domain-target> | <service-target>`);
      }
      const job = state.services[service.key];
      if (!job) exit(call, 113, `Could not find service "${service.label}" in domain for ${service.domain === "system" ? "system" : service.domain.replace(/\/.*/, "") === "gui" ? "user gui: " + service.domain.split("/")[1] : service.domain}`);
      call.stdout += (printJob(service.key, job));
      break;
    }
    case "kickstart": {
      const flags = new Set(rest.filter((a) => /^-[kps]+$/.test(a)).flatMap((a) => [...a.slice(1)]));
      const targets = rest.filter((a) => !a.startsWith("-"));
      if (targets.length !== 1) usageFor(call, "kickstart");
      const service = serviceTarget(targets[0]);
      if (!service) usageFor(call, "kickstart");
      const job = state.services[service.key];
      if (!job) exit(call, 113, `Could not find service "${service.label}" in domain for ${service.domain}`);
      if (!mayChange(call, service.domain)) exit(call, 1, `Could not kickstart service "${service.label}": 1: ${ERRNO[1]}`);
      if (job.state === "running" && !flags.has("k")) {
        if (flags.has("p")) call.stdout += (`${job.pid}\n`);
        break; // already running: nothing to do without -k
      }
      job.state = "running";
      job.pid = fakePid();
      job.runs += 1;
      writeState(file, state);
      if (flags.has("p")) call.stdout += (`${job.pid}\n`);
      break;
    }
    case "load":
    case "unload":
    case "start":
    case "stop":
    case "list":
    case "remove":
    case "submit":
    case "enable":
    case "disable":
      exit(call, 1, `launchctl (LimaWAN test stand-in): \`launchctl ${sub}\` is not modelled; LimaWAN uses bootstrap/bootout/print/kickstart`);
      break;
    case undefined:
      exit(call, 64, "Usage: launchctl <subcommand> ... | help [subcommand]");
      break;
    default:
      exit(call, 64, `Unrecognized subcommand: ${sub}\nUsage: launchctl <subcommand> ... | help [subcommand]`);
  }
  return 0;
}

const ERRNO = { 1: "Operation not permitted", 3: "No such process", 5: "Input/output error", 22: "Invalid argument", 37: "Operation already in progress" };

/** launchctl's exit(3) with a message on stderr, wherever it is called (call.mjs's runCall ends the call). */
function exit(call, code, message) {
  if (message) call.stderr += message + "\n";
  throw new Exit(code);
}

function usageFor(call, sub) {
  const usages = {
    bootstrap: "Usage: launchctl bootstrap <domain-target> [service-path, service-path2, ...]",
    bootout: "Usage: launchctl bootout <domain-target> [service-path1, service-path2, ...] | <service-target>",
    print: "Usage: launchctl print <domain-target> | <service-target>",
    kickstart: "Usage: launchctl kickstart [-k] [-p] <service-target>",
  };
  exit(call, 64, usages[sub]);
}

const isDomain = (t) => /^(system|gui\/\d+|user\/\d+|login\/\d+|pid\/\d+)$/.test(t);
function serviceTarget(target) {
  const m = /^(system|gui\/\d+|user\/\d+|pid\/\d+)\/(.+)$/.exec(target ?? "");
  return m ? { domain: m[1], label: m[2], key: target } : null;
}
const mayChange = (call, domain) => domain !== "system" || call.euid === 0;

/** What launchd needs from a job plist; null when it would refuse it (error 5). */
function readJob(plistPath, domain) {
  let text;
  let info;
  try {
    info = statSync(plistPath);
    text = readFileSync(plistPath, "utf8");
  } catch {
    return null;
  }
  // launchd refuses system jobs whose plist others could have written.
  if (domain === "system" && (info.uid !== 0 || (info.mode & 0o022) !== 0)) return null;
  const job = parsePlist(text);
  if (!job || typeof job !== "object" || Array.isArray(job)) return null;
  if (typeof job.Label !== "string" || job.Label === "") return null;
  const args = job.ProgramArguments;
  const validArgs = Array.isArray(args) && args.length > 0 && args.every((a) => typeof a === "string");
  if (!validArgs && typeof job.Program !== "string") return null;
  return job;
}

/** plist.parse, without xmldom's own console noise on broken input. */
function parsePlist(text) {
  const { error, warn } = console;
  console.error = console.warn = () => {};
  try {
    return plist.parse(text);
  } catch {
    return null;
  } finally {
    Object.assign(console, { error, warn });
  }
}

/** A PID no process here has: launchd's bookkeeping only, nothing runs. */
function fakePid() {
  return 90000 + Math.floor(Math.random() * 9000);
}

function printJob(key, job) {
  const env = Object.entries({ ...job.environment, XPC_SERVICE_NAME: job.label });
  const lines = [
    `${key} = {`,
    `\tactive count = ${job.state === "running" ? 1 : 0}`,
    `\tpath = ${job.path}`,
    `\ttype = ${job.domain === "system" ? "LaunchDaemon" : "LaunchAgent"}`,
    `\tstate = ${job.state}`,
    "",
    `\tprogram = ${job.program}`,
    "\targuments = {",
    ...job.arguments.map((a) => `\t\t${a}`),
    "\t}",
    "",
    ...(job.stdoutPath ? [`\tstdout path = ${job.stdoutPath}`] : []),
    ...(job.stderrPath ? [`\tstderr path = ${job.stderrPath}`] : []),
    "\tdefault environment = {",
    "\t\tPATH => /usr/bin:/bin:/usr/sbin:/sbin",
    "\t}",
    "",
    "\tenvironment = {",
    ...env.map(([k, v]) => `\t\t${k} => ${v}`),
    "\t}",
    "",
    `\tdomain = ${job.domain}`,
    `\tminimum runtime = ${job.plist.ThrottleInterval ?? 10}`,
    "\texit timeout = 5",
    `\truns = ${job.runs}`,
    ...(job.pid ? [`\tpid = ${job.pid}`] : []),
    `\tlast exit code = ${job.runs > 1 ? "0" : "(never exited)"}`,
    "",
    "\tproperties = runatload | inferred program",
    "}",
  ];
  return lines.join("\n") + "\n";
}
