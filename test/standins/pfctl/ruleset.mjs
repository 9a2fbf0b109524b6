// What macOS pfctl's parser (OpenBSD 4.x generation, PF-FACTS.md §2, §7) accepts, for the
// subset LimaWAN and Apple's pf.conf use — and, just as important, what it rejects: newer
// OpenBSD syntax (rdr-to, nat-to, match), rules out of order, over-long names, labels on
// translation rules, flags on UDP, overload without a connection limit. Pure; returns data.

const RANK = { options: 0, normalization: 1, queueing: 2, translation: 3, filtering: 4 };
const ORDER_ERROR = "Rules must be in order: options, normalization, queueing, translation, filtering";
const NEWER_SYNTAX = /(^|\s)(rdr-to|nat-to|binat-to|divert-to|divert-reply|af-to|match|set prio|received-on)(\s|$)/;

// Words pfctl's lexer reads as keywords (parse.y, lookup()), never as an interface name:
// `rdr on inet6 …` or `to (inet6)` is a syntax error. A model of pfctl's own table, kept apart
// from the compiler's list (compiler/validate/interfaces.ts) so the tests check one against the other.
const KEYWORDS = new Set(`all allow-opts altq anchor antispoof any bandwidth binat binat-anchor bitmask block
  block-policy cbq code crop debug drop drop-ovl dummynet dummynet-anchor dup-to fastroute file fingerprints
  flags floating flush for fragment from global group hfsc hostid icmp-type icmp6-type if-bound in inet inet6
  keep label limit linkshare load log loginterface max max-mss max-src-conn max-src-conn-rate max-src-nodes
  max-src-states min-ttl modulate nat nat-anchor no no-df no-route no-sync on optimization os out overload pass
  port priority priq probability proto qlimit queue quick random random-id rdr rdr-anchor realtime reassemble
  reply-to require-order return return-icmp return-icmp6 return-rst round-robin route route-to rtable rule
  ruleset-optimization scrub set skip sloppy source-hash source-track state state-policy static-port
  sticky-address synproxy table tag tagged tbrsize timeout to tos ttl upperlimit urpf-failed user`.split(/\s+/));

/** An interface name (after `on`, or inside `( )`) that pfctl would read as a keyword. */
function keywordAsInterface(s) {
  for (const m of s.matchAll(/(?:(?:^|\s)on (?:\{ ?)?([^\s{}()]+)|\(([^\s()]+)\))/g)) {
    if (KEYWORDS.has(m[1] ?? m[2])) return true;
  }
  return false;
}

/** Join `\` continuations, drop comments; keep the first physical line number of each statement. */
function statements(text) {
  const out = [];
  let pending = "";
  let start = 0;
  text.split("\n").forEach((raw, index) => {
    const line = raw.replace(/#.*/, "");
    if (pending === "") start = index + 1;
    if (/\\\s*$/.test(line)) {
      pending += line.replace(/\\\s*$/, " ");
      return;
    }
    const whole = (pending + line).trim().replace(/\s+/g, " ");
    pending = "";
    if (whole) out.push({ line: start, text: whole });
  });
  return out;
}

function quoted(text, keyword) {
  const m = new RegExp(`(?:^|\\s)${keyword} (?:"([^"]*)"|(\\S+))`).exec(text);
  return m ? (m[1] ?? m[2]) : null;
}

/**
 * @param {string} text
 * @param {string} file name used in messages (`stdin` for `-f -`)
 * @param {{ rejectScrubAnchorOptions?: boolean }} [grammar] `rejectScrubAnchorOptions`: refuse
 *   a scrub-anchor with scrub options (`… all fragment reassemble`, as pfctl prints it), as
 *   Apple's grammar may: whether it takes them back is unverified (PF-FACTS.md §4a)
 * @returns {{ errors: string[], tables: Array<{name:string, persist:boolean, const:boolean, entries:string[]|null}>, translation: string[], filtering: string[], normalization: string[], options: string[], skip: string[] }}
 */
export function parseRuleset(text, file = "stdin", grammar = {}) {
  const result = { errors: [], tables: [], translation: [], filtering: [], normalization: [], options: [], skip: [] };
  let highest = 0;
  const fail = (line, message) => result.errors.push(`${file}:${line}: ${message}`);
  for (const { line, text: s } of statements(text)) {
    const word = s.split(" ")[0];
    if (NEWER_SYNTAX.test(s) || keywordAsInterface(s)) {
      fail(line, "syntax error");
      continue;
    }
    let section;
    if (word === "table") {
      const m = /^table <([^<>\s]+)>((?: (?:const|persist|counters))*)(?: \{ ?([^}]*)\})?$/.exec(s);
      if (!m) fail(line, "syntax error");
      else if (m[1].length > 31) fail(line, "table name too long, max 31 chars");
      else {
        const entries = m[3] === undefined ? null : m[3].split(/[\s,]+/).filter(Boolean);
        const bad = (entries ?? []).find((e) => !/^!?\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(e));
        if (bad) fail(line, `cannot parse host specification "${bad}"`);
        else result.tables.push({ name: m[1], persist: /persist/.test(m[2]), const: /const/.test(m[2]), entries });
      }
      continue;
    } else if (word === "set") section = "options";
    else if (word === "scrub-anchor" && grammar.rejectScrubAnchorOptions && !/^scrub-anchor ("[^"]*"|\S+)( all)?$/.test(s)) {
      fail(line, "syntax error");
      continue;
    } else if (word === "scrub" || word === "scrub-anchor") section = "normalization";
    else if (word === "altq" || word === "queue") section = "queueing";
    else if (["nat", "rdr", "binat", "no", "nat-anchor", "rdr-anchor", "binat-anchor", "dummynet-anchor"].includes(word)) section = "translation";
    else if (["pass", "block", "anchor", "antispoof"].includes(word)) section = "filtering";
    else if (word === "load" && /^load anchor "?[^"\s]+"? from "[^"]+"$/.test(s)) continue; // no order check (F3 loadrule)
    else {
      fail(line, "syntax error");
      continue;
    }
    if (RANK[section] < highest) {
      fail(line, ORDER_ERROR);
      continue;
    }
    highest = RANK[section];
    const error = section === "translation" ? checkTranslation(s) : section === "filtering" ? checkFilter(s) : section === "options" ? checkOption(s, result.skip) : null;
    if (error) fail(line, error);
    else result[section]?.push(s);
  }
  return result;
}

/**
 * `set skip on IF` or `set skip on { IF … }` (parse.y: `SET SKIP interface`); each name goes into
 * `skip`, which the load sets as the interfaces' skip flags. Other options are accepted as they
 * are (none is modelled).
 */
function checkOption(s, skip) {
  if (!/^set skip\b/.test(s)) return null;
  const m = /^set skip on (?:\{ ?([^{}]*?) ?\}|([^\s{}]+))$/.exec(s);
  if (!m) return "syntax error";
  const names = (m[1] ?? m[2]).split(/[\s,]+/).filter(Boolean);
  if (names.length === 0 || names.some((n) => KEYWORDS.has(n) || !/^[A-Za-z0-9_.]{1,15}$/.test(n))) return "syntax error";
  skip.push(...names.filter((n) => !skip.includes(n)));
  return null;
}

function protoOf(s) {
  return /(?:^|\s)proto (tcp|udp|icmp|\{[^}]*\})/.exec(s)?.[1] ?? null;
}

function checkTranslation(s) {
  if (/-anchor /.test(s)) return null;
  if (/(^|\s)label /.test(s)) return "syntax error";
  const isNo = s.startsWith("no ");
  const arrow = s.indexOf(" -> ");
  if (isNo && arrow >= 0) return "translation rule with 'no' does not need '->'";
  if (!isNo && arrow < 0) return "translation rule requires '-> address'";
  if (isNo && / pass( |$)/.test(s)) return '"pass" not valid with "no"';
  const proto = protoOf(s);
  const match = arrow >= 0 ? s.slice(0, arrow) : s;
  if (/ port /.test(match) && proto !== "tcp" && proto !== "udp") return "dst port only applies to tcp/udp";
  if (/ port (!=|<|>|<=|>=|<>|><) /.test(match) || / port \S+ (<>|><) /.test(match)) return "invalid port operator for rdr destination port";
  if (arrow >= 0 && / port /.test(s.slice(arrow)) && proto !== "tcp" && proto !== "udp") return "rpool port only applies to tcp/udp";
  const tag = quoted(s, "tag");
  if (tag !== null && tag.length > 63) return "tag too long, max 63 chars";
  return null;
}

function checkFilter(s) {
  if (/^anchor /.test(s)) return null;
  const proto = protoOf(s);
  if (/ port /.test(s) && proto !== "tcp" && proto !== "udp") return "port only applies to tcp/udp";
  if (/ flags /.test(s) && proto !== "tcp") return "flags only apply to tcp";
  if (/[ (]overload /.test(s) && !/max-src-conn/.test(s)) return "'overload' requires 'max-src-conn' or 'max-src-conn-rate'";
  if (/^block /.test(s) && /keep state/.test(s)) return "keep state on block rules doesn't make sense";
  const label = quoted(s, "label");
  if (label !== null && label.length > 63) return "rule label too long (max 63 chars)";
  const tagged = quoted(s, "tagged");
  if (tagged !== null && tagged.length > 63) return "tag too long, max 63 chars";
  return null;
}

/**
 * pfctl prints rules back normalised: `port = N`, tags unquoted, anchor points quoted with
 * `all` (and scrub's `fragment reassemble`), however they were written — so a printed listing
 * loads back as itself (PFCTL-OUTPUT.md §d). Its print_rule writes a filter rule's state
 * options, then `label`, then `tag`, then `tagged`; a translation rule's tag before `->`.
 */
export function normalise(rule) {
  const point = /^((?:nat|rdr|scrub|binat|dummynet)-anchor|anchor) (?:"([^"]*)"|(\S+))/.exec(rule);
  if (point) {
    const printed = `${point[1]} "${point[2] ?? point[3]}" all`;
    return point[1] === "scrub-anchor" ? `${printed} fragment reassemble` : printed;
  }
  const arrow = rule.indexOf(" -> ");
  const [match, target] = arrow >= 0 ? [rule.slice(0, arrow), rule.slice(arrow)] : [rule, ""];
  const printed = match.replace(/ port (\d+)(?= |$)/g, " port = $1");
  if (arrow >= 0) return (printed + target).replace(/ (tag|tagged) "([^"]+)"/g, " $1 $2");
  const tags = ["tag", "tagged"].map((kind) => new RegExp(` ${kind} "([^"]+)"`).exec(printed)).map((m, i) => (m ? ` ${["tag", "tagged"][i]} ${m[1]}` : ""));
  return printed.replace(/ (tag|tagged) "[^"]+"/g, "") + tags.join("");
}
