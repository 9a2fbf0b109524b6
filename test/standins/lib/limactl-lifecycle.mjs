// `limactl start` and `limactl stop [-f]` (pkg/instance/start.go, stop.go; LIMA-FACTS.md §3, §4).
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags } from "./cli-flags.mjs";
import { EventTail } from "./event-tail.mjs";
import { goQuote, goQuoteRaw, nowNs } from "./go-format.mjs";
import { log, standinFailure } from "./logrus.mjs";
import { inspect, limaHome, logLoadWarnings, validateInstanceName } from "./lima-store.mjs";

const HOSTAGENT = fileURLToPath(new URL("./hostagent.mjs", import.meta.url));
/**
 * Lima waits for events not Before(begin). Two processes' clocks can disagree by microseconds,
 * so `begin` is taken a little early; safe, as the log holds no older event of this start/stop.
 */
const CLOCK_SLACK_NS = 5_000_000n;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Go's %+v of events.Status, for the error messages that print one. */
function statusString(status) {
  return `{Running:${Boolean(status.running)} Degraded:${Boolean(status.degraded)} Exiting:${Boolean(status.exiting)} Errors:[${(status.errors ?? []).join(" ")}] SSHLocalPort:${status.sshLocalPort ?? 0}}`;
}

function parseDuration(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) log.fatal(`invalid argument ${goQuote(text)} for "--timeout" flag: time: invalid duration ${goQuote(text)}`);
  return Number(m[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2]];
}

/**
 * Follow ha.stdout.log from `begin` until `decide(event)` returns a result (or the deadline or
 * `gone()` ends the wait with `onTimeout()` / `onGone()`).
 */
function waitForEvents(file, begin, { decide, timeoutMs, gone, onGone, onTimeout }) {
  return new Promise((resolve) => {
    let done = false;
    let liveness = null;
    let timer = null;
    const finish = (value) => {
      if (done) return;
      done = true;
      tail.stop();
      clearInterval(liveness);
      clearTimeout(timer);
      resolve(value);
    };
    const tail = new EventTail(file, begin, (event) => {
      const result = decide(event);
      if (result !== undefined) finish(result);
    });
    tail.start();
    if (done) return;
    liveness = setInterval(() => {
      tail.check(); // read what the host agent wrote before it went away
      if (!done && gone?.()) finish(onGone());
    }, 25);
    timer = setTimeout(() => finish(onTimeout()), timeoutMs);
  });
}

export async function start(args) {
  const { flags, positional } = parseFlags(args, { timeout: { type: "string" }, foreground: { type: "bool" }, progress: { type: "bool" }, name: { type: "string" } });
  if (flags.foreground) standinFailure("limactl", "start --foreground is not supported by the stand-in");
  if (positional.length > 1) log.fatal(`"limactl start" accepts at most 1 arg(s), received ${positional.length}`);
  const name = flags.name ?? positional[0] ?? "default";
  const invalidName = validateInstanceName(name);
  if (invalidName) log.fatal(invalidName);
  const home = limaHome();
  const inst = inspect(home, name);
  if (!inst || inst.brokenDir) {
    standinFailure("limactl", `instance ${goQuoteRaw(name)} does not exist; the stand-in does not create instances from templates (use \`limactl create --name ${name} FILE\`)`);
  }
  logLoadWarnings(inst);
  if (inst.errors.length > 0) log.fatal(`errors inspecting instance: [${inst.errors.join(" ")}]`);
  if (inst.status === "Running") {
    log.info(`The instance ${goQuoteRaw(name)} is already running. Run \`${name === "default" ? "lima" : `limactl shell ${name}`}\` to open the shell.`);
    return;
  }
  if (inst.status !== "Stopped") log.warn(`expected status \`Stopped\`, got ${goQuoteRaw(inst.status)}`);
  const haPid = path.join(inst.dir, "ha.pid");
  if (existsSync(haPid)) {
    log.fatal(`instance ${goQuoteRaw(name)} seems running (hint: remove ${goQuoteRaw(haPid)} if the instance is not actually running)`);
  }
  log.info(`Starting the instance ${goQuoteRaw(name)} with internal VM driver ${goQuoteRaw(inst.vmType)}`);

  // The logs are deleted and recreated (a new inode) at every start.
  const stdoutLog = path.join(inst.dir, "ha.stdout.log");
  const stderrLog = path.join(inst.dir, "ha.stderr.log");
  rmSync(stdoutLog, { force: true });
  rmSync(stderrLog, { force: true });
  const out = openSync(stdoutLog, "a");
  const err = openSync(stderrLog, "a");
  const begin = nowNs();
  // Lima runs `limactl hostagent --pidfile DIR/ha.pid --socket DIR/ha.sock NAME`, detached.
  const agent = spawn(process.execPath, [HOSTAGENT, "--pidfile", haPid, "--socket", path.join(inst.dir, "ha.sock"), name], {
    detached: true,
    stdio: ["ignore", out, err],
    cwd: inst.dir,
    env: process.env,
  });
  agent.unref();
  closeSync(out);
  closeSync(err);
  let agentExited = false;
  agent.on("exit", () => {
    agentExited = true;
  });

  const pidDeadline = Date.now() + 5_000;
  while (!existsSync(haPid)) {
    if (agentExited || Date.now() > pidDeadline) log.fatal(`host agent process ${agent.pid} did not write ${goQuoteRaw(haPid)} (hint: see ${goQuoteRaw(stderrLog)})`);
    await sleep(5);
  }

  let printedPort = false;
  const result = await waitForEvents(stdoutLog, begin, {
    timeoutMs: flags.timeout ? parseDuration(flags.timeout) : 10 * 60_000,
    gone: () => agentExited,
    onGone: () => ({ error: `host agent process has exited (hint: see ${goQuoteRaw(stderrLog)})` }),
    onTimeout: () => ({ error: "did not receive an event with the `running` status" }),
    decide(event) {
      const status = event.status ?? {};
      if (!printedPort && status.sshLocalPort) {
        log.info(`SSH Local Port: ${status.sshLocalPort}`);
        printedPort = true;
      }
      if (status.errors?.length) log.error(`[${status.errors.join(" ")}]`);
      if (status.exiting) return { error: `exiting, status=${statusString(status)} (hint: see ${goQuoteRaw(stderrLog)})` };
      if (status.running) {
        if (status.degraded) {
          log.warn(`DEGRADED. The VM seems running, but file sharing and port forwarding may not work. (hint: see ${goQuoteRaw(stderrLog)})`);
          return { error: `degraded, status=${statusString(status)}` };
        }
        log.info(`READY. Run \`${name === "default" ? "lima" : `limactl shell ${name}`}\` to open the shell.`);
        return { ok: true };
      }
      return undefined;
    },
  });
  if (result.error) log.fatal(result.error);
}

export async function stop(args) {
  const { flags, positional } = parseFlags(args, { force: { type: "bool", short: "f" } });
  const names = positional.length > 0 ? positional : ["default"];
  const home = limaHome();
  const errors = [];
  for (const name of names) {
    const inst = inspect(home, name);
    if (!inst || inst.brokenDir) {
      errors.push(`open ${path.join(home, name, "lima.yaml")}: no such file or directory`);
      continue;
    }
    logLoadWarnings(inst);
    if (flags.force) stopForcibly(inst);
    else {
      const error = await stopGracefully(home, inst);
      if (error) errors.push(error);
    }
  }
  if (errors.length > 0) log.fatal(errors.join("\n"));
}

async function stopGracefully(home, inst) {
  if (inst.status !== "Running") return `expected status "Running", got ${goQuote(inst.status)} (maybe use \`limactl stop -f\`?)`;
  const begin = nowNs() - CLOCK_SLACK_NS;
  log.info(`Sending SIGINT to hostagent process ${inst.hostAgentPID}`);
  try {
    process.kill(inst.hostAgentPID, "SIGINT");
  } catch (error) {
    log.error(error.message);
  }
  log.info("Waiting for the host agent and the driver processes to shut down");
  const stdoutLog = path.join(inst.dir, "ha.stdout.log");
  const exited = await waitForEvents(stdoutLog, begin, {
    timeoutMs: 3 * 60_000 + 10_000,
    decide: (event) => {
      if (event.status?.errors?.length) log.error(`[${event.status.errors.join(" ")}]`);
      return event.status?.exiting ? true : undefined;
    },
    onTimeout: () => false,
  });
  if (!exited) return 'did not receive an event with the "exiting" status';
  log.info("Waiting for the instance to shut down");
  // Lima polls Inspect every 500 ms; the stand-in polls faster to keep tests quick.
  const deadline = Date.now() + 3 * 60_000;
  for (;;) {
    if (inspect(home, inst.name)?.status === "Stopped") break;
    if (Date.now() > deadline) return "timed out waiting for instance to shut down after 3 minutes";
    await sleep(10);
  }
  log.info(`The instance ${inst.name} has shut down`);
  return null;
}

/** instance.StopForcibly: SIGKILL driver and host agent, then remove *.pid, *.sock, *.tmp. No `exiting` event. */
export function stopForcibly(inst) {
  const kill = (pid) => {
    try {
      process.kill(pid, "SIGKILL");
    } catch (error) {
      if (error.code !== "ESRCH") log.error(error.message);
    }
  };
  if (inst.driverPID > 0) {
    log.info(`Sending SIGKILL to the ${inst.vmType} driver process ${inst.driverPID}`);
    kill(inst.driverPID);
  } else log.info(`The ${inst.vmType} driver process seems already stopped`);
  if (inst.hostAgentPID > 0) {
    log.info(`Sending SIGKILL to the host agent process ${inst.hostAgentPID}`);
    kill(inst.hostAgentPID);
  } else log.info("The host agent process seems already stopped");
  log.info(`Removing *.pid *.sock *.tmp under ${goQuoteRaw(inst.dir)}`);
  for (const entry of readdirSync(inst.dir)) {
    if (!/\.(pid|sock|tmp)$/.test(entry)) continue;
    const file = path.join(inst.dir, entry);
    log.info(`Removing ${goQuoteRaw(file)}`);
    rmSync(file, { force: true });
  }
}
