// The pfctl stand-in must accept what macOS pfctl accepts and reject what it rejects, or the
// end-to-end tests prove nothing.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
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
