// A failed read keeps its coded reason: what doctor, diagnose and status decide by, never the message.
import { describe, expect, it } from "vitest";
import { CliError, EXIT } from "../../plugin/errors.js";
import { attempt, unread } from "../../plugin/engine/reading.js";
import { damagedStateError } from "../../plugin/engine/state.js";

describe("readings", () => {
  it("a refusal for want of root is `needs-root` for a user, and not for root (who was refused anyway)", () => {
    const refused = new CliError(EXIT.ENVIRONMENT, "pfctl needs root", undefined, undefined, null, "needs-root");
    expect(unread(refused, false)).toEqual({ ok: false, reason: "pfctl needs root", code: "needs-root" });
    expect(unread(new CliError(EXIT.ENVIRONMENT, "x", "do this"), false).hint).toBe("do this");
    expect(unread(refused, true).code).toBe("environment");
  });

  it("a damaged state file is `state-damaged` whoever reads it, though its exit code is the environment's as a refusal for root is", () => {
    const damaged = damagedStateError("/var/db/limawan/state.json", "not JSON");
    expect(damaged.exitCode).toBe(EXIT.ENVIRONMENT);
    expect(unread(damaged, false).code).toBe("state-damaged");
    expect(unread(damaged, true).code).toBe("state-damaged");
  });

  it("an error made without a code gets its exit code's; one LimaWAN did not make is internal", async () => {
    expect(unread(new CliError(EXIT.HOST_COMMAND, "`limactl list --json` failed"), false).code).toBe("host-command");
    expect(await attempt(() => Promise.reject(new Error("boom")), false)).toEqual({ ok: false, reason: "boom", code: "internal" });
    expect(await attempt(() => Promise.resolve(7), false)).toEqual({ ok: true, value: 7 });
  });
});
