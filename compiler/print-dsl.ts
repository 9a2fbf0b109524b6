// VmDraft → DSL text. Used by `expose` to write a statement back and by the round-trip
// property test (parse(print(ir)) == ir).
import { formatRange, type ForwardDraft, type VmDraft } from "./ir.js";

export function printForward(f: ForwardDraft): string {
  const parts = ["expose"];
  if (!f.derivedName) parts.push(f.name.value);
  parts.push(`${formatRange(f.guest.value)}/${f.protocol}`, "as", formatRange(f.host.value));
  if (f.from) parts.push("from", f.from.map((s) => s.value).join(", "));
  if (f.on) parts.push("on", f.on.map((s) => s.value).join(", "));
  if (f.limit) parts.push("limit", `${f.limit.count.value}/${f.limit.seconds.value}s`);
  if (f.max) parts.push("max", String(f.max.value));
  if (f.log) parts.push("log");
  return parts.join(" ");
}

export function printVm(vm: VmDraft): string {
  const lines: string[] = [];
  if (vm.interfaces) lines.push(`interface ${vm.interfaces.map((i) => i.value).join(", ")}`);
  if (vm.allowFrom) lines.push(`allow from ${vm.allowFrom.map((s) => s.value).join(", ")}`);
  if (vm.allowPrivileged) lines.push("allow privileged");
  for (const f of vm.forwards) lines.push(printForward(f));
  return lines.map((l) => `${l}\n`).join("");
}
