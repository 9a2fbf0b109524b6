// The commands as data: the root and passwordless lists are read off the descriptors, and the
// sudoers rule never covers a command that reads or writes a file it is given, or replaces what
// root runs (commands/sudoers.ts says why).
import { describe, expect, it } from "vitest";
import { COMMANDS, PASSWORDLESS_COMMANDS, ROOT_COMMANDS } from "../../plugin/command.js";

describe("command descriptors", () => {
  it("root runs the commands that change the host", () => {
    expect([...ROOT_COMMANDS].sort()).toEqual(["down", "install", "monitor", "start", "uninstall", "up", "watch"]);
  });

  it("the sudoers rule covers forwarding and reading PF, in the order it has always listed them", () => {
    expect(PASSWORDLESS_COMMANDS).toEqual(["up", "down", "start", "status", "doctor", "diagnose", "monitor"]);
    for (const name of ["plan", "check", "expose", "unexpose", "install", "uninstall", "watch", "harden", "sudoers", "ip"]) expect(PASSWORDLESS_COMMANDS).not.toContain(name);
  });

  it("each name once, and each loads a function of its own module", async () => {
    expect(new Set(COMMANDS.map((c) => c.name)).size).toBe(COMMANDS.length);
    for (const descriptor of COMMANDS) expect(typeof (await descriptor.load())).toBe("function");
  });
});
