// The sudo stand-in's reading of a sudoers Cmnd (sudoers(5), "Command line arguments"): the rule
// `limactl limawan sudoers` prints is only as strict as this matching, so it must not be kinder
// than sudo's.
import { describe, expect, it } from "vitest";
import { commandMatches } from "./sudo/main.mjs";

const L = "/opt/limawan/limactl-limawan";

describe("sudoers Cmnd matching", () => {
  it("a path alone allows any arguments; `\"\"` none", () => {
    expect(commandMatches(L, L, ["plan", "/etc/master.passwd"])).toBe(true);
    expect(commandMatches(`${L} ""`, L, [])).toBe(true);
    expect(commandMatches(`${L} ""`, L, ["up"])).toBe(false);
    expect(commandMatches(L, "/usr/local/bin/limactl-limawan", [])).toBe(false);
  });

  it("arguments match as one string: exact words, and `*` across spaces, but not a missing space", () => {
    expect(commandMatches(`${L} up`, L, ["up"])).toBe(true);
    expect(commandMatches(`${L} up`, L, ["up", "web"])).toBe(false);
    expect(commandMatches(`${L} up *`, L, ["up", "--env", "LIMA_HOME=/Users/me/.lima", "web"])).toBe(true);
    expect(commandMatches(`${L} up *`, L, ["up"])).toBe(false);
    expect(commandMatches(`${L} up *`, L, ["plan", "/etc/master.passwd", "up", "x"])).toBe(false);
    expect(commandMatches(`${L} up *`, L, ["upgrade"])).toBe(false);
  });

  it("a backslash escapes: a path with a space", () => {
    expect(commandMatches("/opt/lima\\ wan/limactl-limawan up", "/opt/lima wan/limactl-limawan", ["up"])).toBe(true);
  });
});
