// The pfctl stand-in must accept what macOS pfctl accepts and reject what it rejects, or the
// end-to-end tests prove nothing.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "./pfctl/main.mjs";
import { parseRuleset } from "./pfctl/ruleset.mjs";
import { APPLE_PF_CONF } from "../apple-pf-conf.js";
import { insertAnchorPoints } from "../../compiler/pf/pf-conf-edit.js";

const golden = new URL("../golden/", import.meta.url);

describe("pfctl stand-in parser", () => {
  it.each(readdirSync(golden).filter((f) => f.endsWith(".pf")))("accepts the compiler's %s", (file) => {
    expect(parseRuleset(readFileSync(new URL(file, golden), "utf8")).errors).toEqual([]);
  });

  it("accepts Apple's pf.conf with LimaWAN's anchor points, and rejects them appended at the end", () => {
    const inserted = insertAnchorPoints(APPLE_PF_CONF);
    if (!inserted.ok) throw new Error(inserted.reason);
    expect(parseRuleset(inserted.text, "/etc/pf.conf").errors).toEqual([]);
    const appended = `${APPLE_PF_CONF}rdr-anchor "limawan"\n`;
    expect(parseRuleset(appended, "/etc/pf.conf").errors).toEqual([
      "/etc/pf.conf:28: Rules must be in order: options, normalization, queueing, translation, filtering",
    ]);
  });

  it.each([
    ["pass in on en0 proto tcp to port 2222 rdr-to 192.168.105.2 port 22", "stdin:1: syntax error"],
    ["match out on en0 nat-to (en0)", "stdin:1: syntax error"],
    ["pass in quick on en0 inet proto tcp to port 22 keep state\nrdr on en0 inet proto tcp to port 2222 -> 10.0.0.2 port 22", "stdin:2: Rules must be in order: options, normalization, queueing, translation, filtering"],
    ["table <this_table_name_is_far_too_long_for_pf> persist", "stdin:1: table name too long, max 31 chars"],
    ['rdr on en0 inet proto tcp to port 1 -> 10.0.0.2 port 1 label "x"', "stdin:1: syntax error"],
    ["pass in on en0 inet proto udp to port 53 flags S/SA keep state", "stdin:1: flags only apply to tcp"],
    ["pass in on en0 inet proto tcp to port 22 keep state (overload <t> flush global)", "stdin:1: 'overload' requires 'max-src-conn' or 'max-src-conn-rate'"],
    ["rdr on en0 inet proto tcp to port != 22 -> 10.0.0.2 port 22", "stdin:1: invalid port operator for rdr destination port"],
    ["rdr on en0 inet to port 22 -> 10.0.0.2 port 22", "stdin:1: dst port only applies to tcp/udp"],
    // A keyword where an interface name goes: the lexer never reads it as a name.
    ['rdr on inet6 inet proto tcp from any to (inet6) port 2222 tag "lw_web_ssh" -> 192.168.105.2 port 22', "stdin:1: syntax error"],
    ['rdr on en0 inet proto tcp from any to (inet6) port 2222 tag "lw_web_ssh" -> 192.168.105.2 port 22', "stdin:1: syntax error"],
    ['pass in quick on inet6 inet proto tcp from any to 192.168.105.2 port 22 tagged "lw_web_ssh" flags S/SA keep state', "stdin:1: syntax error"],
  ])("rejects %j", (text, error) => {
    expect(parseRuleset(text).errors).toEqual([error]);
  });
});

describe("pfctl stand-in: PFCTL_STANDIN_REJECT_SCRUB_OPTIONS, Apple's grammar refusing a scrub-anchor as pfctl prints it", () => {
  it("refuses `scrub-anchor … all fragment reassemble` and takes the bare form; without it takes both", () => {
    const printed = 'scrub-anchor "com.apple.internet-sharing" all fragment reassemble\nanchor "com.apple/*" all\n';
    const bare = 'scrub-anchor "com.apple.internet-sharing" all\nanchor "com.apple/*" all\n';
    expect(parseRuleset(printed, "stdin", { rejectScrubAnchorOptions: true }).errors).toEqual(["stdin:1: syntax error"]);
    expect(parseRuleset(bare, "stdin", { rejectScrubAnchorOptions: true }).errors).toEqual([]);
    expect(parseRuleset(printed).errors).toEqual([]);
  });
});

describe("pfctl stand-in: interface skip flags (PF-FACTS.md §4b)", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "limawan-pfctl-skip-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** A fresh stand-in, each call run in this process as the stand-in server runs it. */
  const standin = (name: string) => {
    const env = { PFCTL_STANDIN_STATE: path.join(dir, `${name}.json`) };
    return (argv: string[], input = "") => {
      const call = { argv, env, euid: 0, pid: process.pid, cwd: dir, stdin: () => input, stdout: "", stderr: "" };
      const exitCode = main(call);
      return { exitCode, stdout: call.stdout, stderr: call.stderr };
    };
  };
  const skipped = (pfctl: ReturnType<typeof standin>) => pfctl(["-s", "Interfaces", "-v"]).stdout.split("\n").filter((l) => l.endsWith(" (skip)")).map((l) => l.split(" ")[0]);
  const MAIN = `set skip on { lo0 en1 }\n${APPLE_PF_CONF}`;

  it("a whole main ruleset sets the flags of its `set skip`; -s Interfaces without -v shows none", () => {
    const pfctl = standin("whole");
    expect(pfctl(["-f", "-"], MAIN).exitCode).toBe(0);
    expect(skipped(pfctl)).toEqual(["lo0", "en1"]);
    expect(pfctl(["-s", "Interfaces"]).stdout).not.toMatch(/skip/);
  });

  it("every main -f clears them: -N and -R set none again, -O sets exactly its own", () => {
    const pfctl = standin("partial");
    pfctl(["-f", "-"], MAIN);
    expect(pfctl(["-N", "-f", "-"], 'rdr-anchor "com.apple/*"\n').exitCode).toBe(0);
    expect(skipped(pfctl)).toEqual([]);
    pfctl(["-f", "-"], MAIN);
    expect(pfctl(["-R", "-f", "-"], 'anchor "com.apple/*"\n').exitCode).toBe(0);
    expect(skipped(pfctl)).toEqual([]);
    expect(pfctl(["-m", "-O", "-f", "-"], "set skip on lo0\n").exitCode).toBe(0);
    expect(skipped(pfctl)).toEqual(["lo0"]);
    expect(pfctl(["-sr"]).stdout).toBe('anchor "com.apple/*" all\n'); // -O left the rules alone
  });

  it("a refused main load has cleared them too; -n, an anchor load and a missing file clear nothing", () => {
    const pfctl = standin("refused");
    pfctl(["-f", "-"], MAIN);
    expect(pfctl(["-n", "-f", "-"], "pass in all\n").exitCode).toBe(0);
    expect(pfctl(["-a", "limawan", "-f", "-"], "pass in all\n").exitCode).toBe(0);
    expect(pfctl(["-f", path.join(dir, "no-such-file")]).exitCode).toBe(1);
    expect(skipped(pfctl)).toEqual(["lo0", "en1"]);
    expect(pfctl(["-R", "-f", "-"], "pass in on en0 rdr-to 10.0.0.1\n").exitCode).toBe(1);
    expect(skipped(pfctl)).toEqual([]);
  });

  it("refuses a `set skip` pfctl's grammar refuses", () => {
    expect(parseRuleset("set skip on { }\n").errors).toEqual(["stdin:1: syntax error"]);
    expect(parseRuleset("set skip on inet6\n").errors).toEqual(["stdin:1: syntax error"]);
    expect(parseRuleset("set skip lo0\n").errors).toEqual(["stdin:1: syntax error"]);
  });
});
