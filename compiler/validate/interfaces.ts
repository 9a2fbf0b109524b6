// WAN interface names (`interface`, `on`). Only the shape is checked here: whether the Mac
// has the interface is a host fact `doctor` and `up` look at.
import { CODES, DiagnosticSink } from "../diagnostic.js";
import type { InterfaceName, Located } from "../ir.js";
import { excerpt } from "../printable.js";

// BSD interface names: a driver name and a unit number, under IFNAMSIZ (16).
const INTERFACE = /^[a-z]{1,12}[0-9]{1,3}$/;

/**
 * Words pfctl's lexer always reads as keywords (pfctl parse.y, lookup(); PF-FACTS.md §7), so
 * `rdr on inet6 …` is a syntax error and pfctl rejects the whole shared anchor: one VM's
 * annotation would block every VM. `inet6` fits the interface pattern; the check covers all.
 */
export const PFCTL_KEYWORDS: ReadonlySet<string> = new Set([
  "all", "allow-opts", "altq", "anchor", "antispoof", "any", "bandwidth", "binat", "binat-anchor", "bitmask",
  "block", "block-policy", "buckets", "cbq", "code", "codelq", "crop", "debug", "divert-reply", "divert-to",
  "dnpipe", "dnqueue", "drop", "drop-ovl", "dummynet", "dummynet-anchor", "dup-to", "fairq", "fastroute",
  "file", "fingerprints", "flags", "floating", "flush", "for", "fragment", "from", "global", "group", "hfsc",
  "hogs", "hostid", "icmp-type", "icmp6-type", "if-bound", "in", "include", "inet", "inet6", "keep", "label",
  "limit", "linkshare", "load", "log", "loginterface", "max", "max-mss", "max-src-conn", "max-src-conn-rate",
  "max-src-nodes", "max-src-states", "min-ttl", "modulate", "nat", "nat-anchor", "no", "no-df", "no-route",
  "no-sync", "on", "optimization", "os", "out", "overload", "pass", "pipe", "port", "priority", "priq",
  "probability", "proto", "qlimit", "queue", "quick", "random", "random-id", "rdr", "rdr-anchor", "realtime",
  "reassemble", "reply-to", "require-order", "return", "return-icmp", "return-icmp6", "return-rst",
  "round-robin", "route", "route-to", "rtable", "rule", "ruleset-optimization", "scrub", "self", "set", "skip",
  "sloppy", "source-hash", "source-track", "state", "state-defaults", "state-policy", "static-port",
  "sticky-address", "synproxy", "table", "tag", "tagged", "tbrsize", "timeout", "to", "tos", "ttl",
  "upperlimit", "urpf-failed", "user",
]);

export function isInterfaceName(text: string): text is InterfaceName {
  return INTERFACE.test(text) && !PFCTL_KEYWORDS.has(text);
}

/** Why `text` cannot name an interface in PF rules, or null. The same words for the annotation and --interface. */
export function interfaceNameProblem(text: string): string | null {
  if (PFCTL_KEYWORDS.has(text)) return `\`${text}\` is a pfctl keyword, not an interface name`;
  if (!INTERFACE.test(text)) return `\`${excerpt(text)}\` is not an interface name`;
  return null;
}
export const INTERFACE_HINT = "Use a name as `ifconfig -l` prints it, e.g. en0.";

/** PF-FACTS.md §5: the Mac's own connections never pass a WAN rdr; lo0 rules do not reach a VM. */
export function isLoopback(name: InterfaceName): boolean {
  return name.startsWith("lo");
}
export const loopbackMessage = (name: string) => `\`${name}\` is the loopback interface; PF cannot redirect the Mac's own connections to a VM`;
export const LOOPBACK_HINT = "Name the interface clients arrive on (e.g. en0); from the Mac itself, connect to the VM's address directly.";

export function validateInterfaces(names: readonly Located<string>[], sink: DiagnosticSink): InterfaceName[] | null {
  const out: InterfaceName[] = [];
  let ok = true;
  for (const { value, at } of names) {
    if (!isInterfaceName(value)) {
      sink.error(CODES.INVALID_INTERFACE, at, interfaceNameProblem(value)!, INTERFACE_HINT);
      ok = false;
    } else if (isLoopback(value)) {
      sink.error(CODES.INVALID_INTERFACE, at, loopbackMessage(value), LOOPBACK_HINT);
      ok = false;
    } else if (!out.includes(value)) {
      out.push(value);
    }
  }
  return ok ? out : null;
}
