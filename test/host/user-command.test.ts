import { chmodSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runUserCommand } from "../../plugin/host/user-command.js";

/** As root, run it as nobody (what a user is to these tests); otherwise as ourselves. */
const someone = process.getuid?.() === 0 ? { uid: 65534, gid: 65534, env: { PATH: "/usr/bin:/bin" } } : null;

describe("a command the user configured (--on-public-address)", () => {
  it("gets its input on stdin, never in its command line", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "limawan-user-command-"));
    chmodSync(dir, 0o777);
    const input = '{"address":"203.0.113.7; touch /tmp/pwned"}\n';
    const result = await runUserCommand(`cat > ${dir}/in; id -u > ${dir}/uid`, input, someone);
    expect(result).toEqual({ ran: true, exitCode: 0, timedOut: false });
    expect(readFileSync(`${dir}/in`, "utf8")).toBe(input);
    expect(readFileSync(`${dir}/uid`, "utf8").trim()).toBe(String(someone?.uid ?? process.getuid!()));
  });

  it.runIf(process.getuid?.() === 0)("is never run as root: without a user to run it as, it is not run", async () => {
    const refused = { ran: false, reason: "no invoking user is known (SUDO_USER), and it is never run as root" };
    expect(await runUserCommand("true", "{}", null)).toEqual(refused);
    expect(await runUserCommand("true", "{}", { uid: 0, gid: 0, env: {} })).toEqual(refused);
  });

  it("is stopped when it takes too long", async () => {
    const result = await runUserCommand("sleep 5", "", someone, 100);
    expect(result).toMatchObject({ ran: true, timedOut: true });
  });
});
