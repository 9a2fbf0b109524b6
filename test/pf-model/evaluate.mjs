// A small PF packet evaluator for the rule subset LimaWAN emits, reading the anchor text as
// pfctl would (independent of the product: it never imports compiler/). Translation: first
// matching rdr / `no rdr` wins. Filtering: last match wins unless `quick`; a rule without `proto`
// matches every protocol; `tagged` matches the
// tag the rdr set; no match passes (PF's default). Tables hold addresses and networks.
import { parseRuleset } from "../standins/pfctl/ruleset.mjs";

const ip = (text) => text.split(".").reduce((n, o) => n * 256 + Number(o), 0);
function contains(cidr, address) {
  const [base, bits = "32"] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ip(address) / size) === Math.floor(ip(base) / size);
}

function parsePorts(text) {
  if (text === undefined) return null;
  const [a, b] = text.split(":");
  return { first: Number(a), last: b === undefined ? Number(a) : b === "*" ? null : Number(b) };
}

const RULE = /^(no rdr|rdr|pass|block drop) (?:in )?(log )?(quick )?on (\S+) inet(?: proto (tcp|udp))? from (\S+) to (\S+)(?: port (\S+))?(?: tag "([^"]+)")?(?: -> (\S+) port (\S+))?(?: tagged "([^"]+)")?/;

/** Parse an anchor; throws if pfctl (as modelled by the stand-in) would reject it. */
export function loadAnchor(text) {
  const parsed = parseRuleset(text);
  if (parsed.errors.length) throw new Error(parsed.errors.join("\n"));
  const rule = (line) => {
    const m = RULE.exec(line);
    if (!m) throw new Error(`evaluator does not understand: ${line}`);
    return { kind: m[1], quick: Boolean(m[3]), iface: m[4], proto: m[5], from: m[6], to: m[7], port: parsePorts(m[8]), tag: m[9], target: m[10], targetPort: parsePorts(m[11]), tagged: m[12], text: line };
  };
  const tables = Object.fromEntries(parsed.tables.map((t) => [t.name, [...(t.entries ?? [])]]));
  return { translation: parsed.translation.map(rule), filtering: parsed.filtering.map(rule), tables };
}

function addressMatches(spec, address, ruleset, interfaces) {
  if (spec === "any") return true;
  if (spec.startsWith("<")) return (ruleset.tables[spec.slice(1, -1)] ?? []).some((c) => contains(c, address));
  if (spec.startsWith("(")) return interfaces[spec.slice(1, -1)] === address;
  return contains(spec, address);
}

function matches(rule, p, ruleset, interfaces) {
  return (
    rule.iface === p.iface &&
    (rule.proto === undefined || rule.proto === p.proto) &&
    addressMatches(rule.from, p.src, ruleset, interfaces) &&
    addressMatches(rule.to, p.dst, ruleset, interfaces) &&
    (!rule.port || (p.dport >= rule.port.first && p.dport <= rule.port.last))
  );
}

/**
 * @param ruleset from loadAnchor (tables may be edited: overload entries)
 * @param interfaces { en0: "203.0.113.10", … }
 * @param packet { iface, proto, src, dst, dport } arriving inbound
 */
export function evaluate(ruleset, interfaces, packet) {
  let p = { ...packet, tag: null };
  let translatedBy = null;
  for (const rule of ruleset.translation) {
    if (!matches(rule, p, ruleset, interfaces)) continue;
    if (rule.kind === "rdr") {
      const offset = p.dport - rule.port.first;
      p = { ...p, dst: rule.target, dport: rule.targetPort.last === null ? rule.targetPort.first + offset : rule.targetPort.first, tag: rule.tag ?? null };
      translatedBy = rule.text;
    }
    break; // first match decides, `no rdr` included
  }
  let decision = { action: "pass", rule: null };
  for (const rule of ruleset.filtering) {
    if (!matches(rule, p, ruleset, interfaces)) continue;
    if (rule.tagged && rule.tagged !== p.tag) continue;
    decision = { action: rule.kind === "pass" ? "pass" : "block", rule: rule.text };
    if (rule.quick) break;
  }
  return { ...decision, src: p.src, dst: p.dst, dport: p.dport, tag: p.tag, translatedBy };
}
