// Watcher reaction time (run by `npm run bench`, not by `npm test`): from the host agent's
// `running` event (written after the DHCP lease) in a temporary LIMA_HOME, through the limactl
// stand-in's `watch --json` stream, to the anchor load in the pfctl stand-in — and from the
// `exiting` event to the removal. Times come from the event's own timestamp and the pfctl
// stand-in's call log, so polling adds nothing. Also the watcher's CPU use while idle.
import { readFileSync } from "node:fs";
import { it } from "vitest";
import { createSandbox } from "../e2e/harness.js";

const CYCLES = Number(process.env.BENCH_WATCH_CYCLES ?? 20);
const YAML = "networks:\n  - lima: shared\nx-limawan: |\n  interface en0\n  expose ssh 22 as 2222\n";

function lastEventTime(file: string, key: "running" | "exiting"): number {
  const lines = readFileSync(file, "utf8").trim().split("\n").reverse();
  for (const line of lines) {
    const event = JSON.parse(line) as { time: string; status: Record<string, unknown> };
    if (event.status[key]) return Date.parse(event.time);
  }
  throw new Error(`no ${key} event in ${file}`);
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!;

it("watch reaction time", async () => {
  const sb = await createSandbox();
  try {
    await sb.addInstance("web", YAML);
    // As on a Mac with the daemon installed: anchor points already in pf.conf and loaded.
    const installed = await sb.run(["install"]);
    if (installed.exitCode !== 0) throw new Error(installed.stderr);
    const watcher = sb.runBackground(["watch", "--verbose"], { env: { LIMAWAN_WATCH_INTERVAL_MS: "600000" } });
    let watchLog = "";
    watcher.stderr?.on("data", (d: Buffer) => (watchLog += d.toString()));
    await new Promise((r) => setTimeout(r, 1500));
    const loads = () => sb.pfctlCalls().filter((c) => c.argv.join(" ") === "-a limawan -f -" || c.argv.join(" ") === "-a limawan -F all");
    const waitForLoad = async (after: number) => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const call = loads().find((c) => Date.parse(c.time) > after);
        if (call) return Date.parse(call.time);
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error("no load within 10 s");
    };
    const log = `${sb.paths.limaHome}/web/ha.stdout.log`;
    const up: number[] = [];
    const down: number[] = [];
    for (let i = 0; i < CYCLES; i++) {
      await sb.startVm("web");
      const running = lastEventTime(log, "running");
      up.push((await waitForLoad(running)) - running);
      await sb.stopVm("web");
      const exiting = lastEventTime(log, "exiting");
      down.push((await waitForLoad(exiting)) - exiting);
    }
    await new Promise((r) => setTimeout(r, 500));
    const before = cpuSeconds(watcher.pid!);
    await new Promise((r) => setTimeout(r, 5000));
    const idle = (cpuSeconds(watcher.pid!) - before) / 5;
    console.log(`watch: start → anchor loaded: median ${percentile(up, 50)} ms, p95 ${percentile(up, 95)} ms (${CYCLES} cycles)`);
    console.log(`watch: stop → rules removed:  median ${percentile(down, 50)} ms, p95 ${percentile(down, 95)} ms (${CYCLES} cycles)`);
    if (process.env.BENCH_WATCH_LOG) console.log(watchLog, "start reactions:", up.join(" "));
    console.log(`watch: idle CPU ${(idle * 100).toFixed(2)}% of one core over 5 s`);
  } finally {
    await sb.cleanup();
  }
}, 180_000);
