// IR → DSL text. Drafts: the round-trip property test (parse(print(ir)) == ir). Specs: the
// state file's records, checked again by compiling them back (pipeline.ts `recheckSpec`).
import { formatRange, type ForwardDraft, type RouterMapping, type VmDraft, type VmSpec } from "./ir.js";
import { FIRST_UNPRIVILEGED_PORT } from "./validate/ports.js";

export function printForward(f: ForwardDraft): string {
  const parts = ["expose"];
  if (!f.derivedName) parts.push(f.name.value);
  parts.push(`${formatRange(f.guest.value)}/${f.protocol}`, "as", formatRange(f.host.value));
  if (f.from) parts.push("from", f.from.map((s) => s.value).join(", "));
  if (f.on) parts.push("on", f.on.map((s) => s.value).join(", "));
  if (f.limit) parts.push("limit", `${f.limit.count.value}/${f.limit.seconds.value}s`);
  if (f.max) parts.push("max", String(f.max.value));
  if (f.log) parts.push("log");
  if (f.router) parts.push(routerOption(f.router.value));
  return parts.join(" ");
}

export function printVm(vm: VmDraft): string {
  const lines: string[] = [];
  if (vm.interfaces) lines.push(`interface ${vm.interfaces.map((i) => i.value).join(", ")}`);
  if (vm.allowFrom) lines.push(`allow from ${vm.allowFrom.map((s) => s.value).join(", ")}`);
  if (vm.allowPrivileged) lines.push("allow privileged");
  if (vm.allowRouted) lines.push("allow routed");
  for (const f of vm.forwards) lines.push(printForward(f));
  return lines.map((l) => `${l}\n`).join("");
}

/**
 * A validated spec → statements that compile back to it: every value explicit (name, protocol,
 * sources, interfaces), `allow privileged` when a host port needs it. How a spec that comes from
 * outside the compiler (the state file) goes through the validators again.
 */
export function printSpec(spec: VmSpec): string[] {
  const lines = spec.forwards.some((f) => f.host.first < FIRST_UNPRIVILEGED_PORT) ? ["allow privileged"] : [];
  if (spec.allowRouted) lines.push("allow routed");
  for (const f of spec.forwards) {
    const parts = ["expose", f.name, `${formatRange(f.guest)}/${f.protocol}`, "as", formatRange(f.host)];
    if (f.sources.length > 0) parts.push("from", f.sources.join(", "));
    if (f.interfaces) parts.push("on", f.interfaces.join(", "));
    if (f.limit) parts.push("limit", `${f.limit.count}/${f.limit.seconds}s`);
    if (f.max !== null) parts.push("max", String(f.max));
    if (f.log) parts.push("log");
    if (f.router) parts.push(routerOption(f.router));
    lines.push(parts.join(" "));
  }
  return lines;
}

function routerOption(router: RouterMapping): string {
  return router.upnp ? "router upnp" : "router";
}
