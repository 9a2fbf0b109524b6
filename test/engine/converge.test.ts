// The engine's run as the state lock sees it: what it tells the caller (diagnostics, notes,
// skipped VMs) comes after the lock is released, whether the run succeeded or failed, so that
// rendering a bad file's thousands of diagnostics holds up no other command (issue 17).
import { describe, expect, it } from "vitest";
import { converge } from "../../plugin/engine/converge.js";
import { desiredForRunning, desiredForUp, WATCH_POLICY } from "../../plugin/engine/desired-state.js";
import { CliError, EXIT } from "../../plugin/errors.js";
import { Output } from "../../plugin/output.js";
import { fakeHost, limaYaml, type FakeVm } from "./fake-host.js";

const out = new Output({ json: false, quiet: true, verbose: false, color: false }, { write: () => true } as unknown as NodeJS.WritableStream, { write: () => true } as unknown as NodeJS.WritableStream);

/** A host whose state lock records when it is held, with PF showing nothing of LimaWAN's. */
function lockedHost(vms: Record<string, FakeVm>, options: { defaultRoute?: boolean } = {}) {
  const host = fakeHost(vms);
  const events: string[] = [];
  let held = false;
  Object.assign(host, {
    state: {
      file: "/var/db/limawan/state.json",
      read: async () => null,
      write: async () => void events.push("state written"),
      locked: async <T>(fn: () => Promise<T>) => {
        held = true;
        events.push("lock taken");
        try {
          return await fn();
        } finally {
          held = false;
          events.push("lock released");
        }
      },
    },
    pfctl: {
      loadedAnchorPoints: async () => ({ rdr: true, filter: true }),
      references: async () => new Set<string>(),
      labels: async () => new Map(),
    },
    sysctl: { get: async () => "1" },
    route: {
      defaultInterface: async () => {
        if (options.defaultRoute === false) throw new CliError(EXIT.HOST_COMMAND, "`route -n get default` failed");
        return "en0";
      },
    },
  });
  return { host, events, told: () => events.push(held ? "told inside the lock" : "told after the lock") };
}

describe("converge tells the caller what it found after the state lock is released", () => {
  it("after a run that changed nothing (a VM whose 2,000 bad lines skip it)", async () => {
    const { host, events, told } = lockedHost({ bad: { yaml: `${limaYaml()}${"  x\n".repeat(2_000)}`, address: "192.168.105.2" } });
    const result = await converge(host, out, { desired: (h, state) => desiredForRunning(h, state, WATCH_POLICY), onDesired: told });
    expect(result.desired.skipped.map((s) => s.instance)).toEqual(["bad"]);
    expect(events).toEqual(["lock taken", "lock released", "told after the lock"]);
  });

  it("after a run that failed once the desired state was known, before the error reaches the caller", async () => {
    const { host, events, told } = lockedHost({ web: { yaml: limaYaml("expose ssh as 2222"), address: "192.168.105.2" } }, { defaultRoute: false });
    const run = converge(host, out, { desired: (h, state) => desiredForUp(h, state, ["web"]), onDesired: told });
    await expect(run).rejects.toThrow("`route -n get default` failed");
    expect(events).toEqual(["lock taken", "lock released", "told after the lock"]);
  });

  it("not at all when the run failed before the desired state was known", async () => {
    const { host, events, told } = lockedHost({ web: { yaml: limaYaml("expose ssh as 2222"), address: null } });
    await expect(converge(host, out, { desired: (h, state) => desiredForUp(h, state, ["web"]), onDesired: told })).rejects.toThrow(/no address for `web`/);
    expect(events).toEqual(["lock taken", "lock released"]);
  });
});
