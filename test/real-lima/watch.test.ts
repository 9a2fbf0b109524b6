// The real `limactl watch --json` stream, as LimaWAN's watcher reads it (parseWatchLine): a start
// and a stop of a host agent, and new instances made while it watches — one whose lima.yaml is
// there when its directory appears (followed), one whose directory comes first, as `limactl
// create` makes it (missed), and any made in a Lima home that did not exist when it started
// (never noticed). The limactl stand-in's watch, run beside it, must see the same.
import { renameSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseWatchLine, type LimaEvent } from "../../plugin/host/lima-events.js";
import { limaYaml, nonStrictWarnings, REAL_LIMACTL, RealLimaSandbox, tierName } from "./real-lima.js";
import { eventually as waitUntil, type Check } from "../eventually.js";

vi.setConfig({ testTimeout: 120_000 });

interface Stream { events(): LimaEvent[]; stderr(): string; stop(): Promise<void> }

describe.skipIf(!REAL_LIMACTL)(tierName("limactl watch --json, real"), () => {
  let sb: RealLimaSandbox;
  beforeEach(() => {
    sb = new RealLimaSandbox();
  });
  afterEach(async () => {
    await sb.cleanup();
  });

  /** `limactl watch --json` of the real limactl and of the stand-in, side by side. */
  async function watchBoth(env: Record<string, string> = {}): Promise<{ real: Stream; standin: Stream }> {
    const follow = (child: ReturnType<RealLimaSandbox["limactl"]>): Stream => {
      let stdout = "";
      let stderr = "";
      child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      return {
        events: () => stdout.split("\n").map(parseWatchLine).filter((e): e is LimaEvent => e !== null),
        stderr: () => stderr,
        stop: async () => {
          child.kill("SIGTERM");
          await child;
        },
      };
    };
    const real = follow(sb.limactl(["watch", "--json"], { env }));
    const standin = follow(sb.standin(["watch", "--json"], { env }));
    await until(() => [real, standin].every((s) => s.stderr().includes("Watching for events...")), "both streams ready");
    return { real, standin };
  }
  const phases = (stream: Stream, instance: string) => stream.events().filter((e) => e.instance === instance).map((e) => e.phase);
  /** Event phases, each run of one phase once (port-forward events repeat `running`). */
  const changes = (stream: Stream, instance: string) => phases(stream, instance).filter((p, i, all) => p !== all[i - 1]);

  it("streams a start and a stop, one Non-strict YAML warning per annotated instance as it begins", async () => {
    sb.instance("web", `${limaYaml(sb)}x-limawan: |\n  expose http 80 as 8080\n`);
    sb.instance("db", limaYaml(sb));
    const { real, standin } = await watchBoth();
    try {
      for (const stream of [real, standin]) expect(nonStrictWarnings(stream.stderr())).toBe(1);
      const agent = await sb.hostAgent("web");
      await until(() => [real, standin].every((s) => phases(s, "web").includes("running")), "the running event in both");
      await agent.stop();
      await until(() => [real, standin].every((s) => phases(s, "web").includes("stopping")), "the exiting event in both");
      expect(changes(real, "web")).toEqual(["booting", "running", "stopping"]);
      expect(changes(standin, "web")).toEqual(changes(real, "web"));
    } finally {
      await Promise.all([real.stop(), standin.stop()]);
    }
  });

  it("follows a new instance whose lima.yaml is there as its directory appears, and misses one whose directory came first", async () => {
    const { real, standin } = await watchBoth();
    try {
      // Made elsewhere and moved in whole: lima.yaml is there when the directory appears.
      sb.write(path.join(sb.home, "whole", "lima.yaml"), limaYaml(sb));
      renameSync(path.join(sb.home, "whole"), path.join(sb.limaHome, "whole"));
      // As `limactl create` makes one: the directory, then (here 300 ms later) its lima.yaml.
      sb.write(path.join(sb.limaHome, "late", ".keep"), "");
      await new Promise((r) => setTimeout(r, 300));
      sb.instance("late", limaYaml(sb));
      await until(() => [real, standin].every((s) => s.stderr().includes("New instance detected: whole")), "whole noticed by both");
      const agents = [await sb.hostAgent("whole"), await sb.hostAgent("late")];
      await until(() => [real, standin].every((s) => phases(s, "whole").includes("running")), "whole's running event in both");
      await new Promise((r) => setTimeout(r, 1_000)); // late's events were written long before now
      for (const stream of [real, standin]) {
        expect(phases(stream, "late")).toEqual([]);
        expect(stream.stderr()).not.toMatch(/New instance detected: late/);
      }
      await Promise.all(agents.map((a) => a.stop()));
    } finally {
      await Promise.all([real.stop(), standin.stop()]);
    }
  });

  it("begun without a Lima home, it says so and never notices an instance made there", async () => {
    const later = path.join(sb.root, "later");
    const { real, standin } = await watchBoth({ LIMA_HOME: later });
    try {
      // Printed after "Watching for events...", by both.
      const warning = `level=warning msg="Failed to watch lima directory for new instances" error="lstat ${later}: no such file or directory"`;
      await until(() => [real, standin].every((s) => s.stderr().includes(warning)), "both saying they cannot watch the Lima home");
      sb.write(path.join(sb.home, "whole", "lima.yaml"), limaYaml(sb));
      sb.write(path.join(later, ".keep"), "");
      renameSync(path.join(sb.home, "whole"), path.join(later, "whole"));
      const agent = await sb.hostAgent("whole", { LIMA_HOME: later }).catch(() => null);
      await new Promise((r) => setTimeout(r, 1_500));
      for (const stream of [real, standin]) {
        expect(stream.events()).toEqual([]);
        expect(stream.stderr()).not.toMatch(/New instance detected/);
      }
      await agent?.stop();
    } finally {
      await Promise.all([real.stop(), standin.stop()]);
    }
  });
});

const until = (check: Check, what: string, timeoutMs = 20_000) => waitUntil(check, what, { timeoutMs, pollMs: 25 });
