// VmDraft → VmSpec. Every rule family reports into the sink, all at once; a VmSpec comes
// back only when the VM has no errors, and it is the only way to obtain one.
import { CODES, DiagnosticSink } from "../diagnostic.js";
import type { Forward, ForwardDraft, InterfaceName, VmDraft, VmSpec } from "../ir.js";
import { validateSources } from "./addresses.js";
import { validateClashes } from "./clashes.js";
import { validateInterfaces } from "./interfaces.js";
import { validateLimits } from "./limits.js";
import { isVmName, MAX_VM_NAME, validateNames } from "./names.js";
import { validateHostOverlaps, validatePortShapes, validatePrivileged } from "./ports.js";

/** Host-wide policy; a VM's own `allow privileged` statement also opens privileged ports for it. */
export interface Policy { allowPrivileged: boolean }
export const DEFAULT_POLICY: Policy = { allowPrivileged: false };

export function validate(draft: VmDraft, others: readonly VmSpec[], sink: DiagnosticSink, policy: Policy = DEFAULT_POLICY): VmSpec | null {
  const errorsBefore = sink.items.filter((d) => d.severity === "error").length;

  if (!isVmName(draft.vm)) {
    sink.error(
      CODES.INVALID_VM_NAME,
      { line: 1, column: 1, endLine: 1, endColumn: 2 },
      `instance name \`${draft.vm.slice(0, 60)}\` cannot be used in PF rules`,
      `Lima instance names are letters, digits, '.', '_' and '-', at most ${MAX_VM_NAME} characters.`,
    );
  }
  const vmInterfaces = draft.interfaces ? validateInterfaces(draft.interfaces, sink) : null;
  const vmSources = draft.allowFrom ? validateSources(draft.allowFrom, sink) : [];

  const named = validateNames(draft.forwards, sink);
  // By index: checked[i] is forward i once every per-forward check has passed.
  const checked = new Array<Forward | undefined>(draft.forwards.length);
  const placed: ForwardDraft[] = [];
  for (let i = 0; i < draft.forwards.length; i++) {
    const forward = draft.forwards[i]!;
    const shapes = validatePortShapes(forward, sink);
    const privileged = shapes && validatePrivileged(forward, policy.allowPrivileged || draft.allowPrivileged, sink);
    const limits = validateLimits(forward, sink);
    const interfaces: InterfaceName[] | null | undefined = forward.on ? validateInterfaces(forward.on, sink) ?? undefined : vmInterfaces;
    const sources = forward.from ? validateSources(forward.from, sink) : vmSources;
    if (!named[i] || !shapes || !privileged || !limits || interfaces === undefined || !sources) continue;
    placed.push(forward);
    checked[i] = {
      name: forward.name.value as Forward["name"],
      protocol: forward.protocol,
      guest: forward.guest.value,
      host: forward.host.value,
      sources,
      interfaces,
      limit: limits.limit,
      max: limits.max,
      log: forward.log,
      line: forward.at.line,
    };
  }

  validateHostOverlaps(placed, sink);
  validateClashes(placed, others, sink);

  const errorsAfter = sink.items.filter((d) => d.severity === "error").length;
  if (errorsAfter > errorsBefore || !isVmName(draft.vm)) return null;
  return { vm: draft.vm, file: draft.file, forwards: checked as Forward[] };
}
