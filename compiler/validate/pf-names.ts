// PF names that collide after shortening (LW701). Two forwards writing the same table, tag or
// label would share bans, counters or rdr→pass links, so a VM set with a collision is refused
// as a whole: the set is what one anchor load installs.
import { CODES, type Diagnostic } from "../diagnostic.js";
import type { VmSpec } from "../ir.js";
import { anyShortened, forwardPfNames } from "../pf-names.js";

/**
 * Unshortened names cannot collide (forward names have no `_`, VM names no `:`), so the check
 * runs only when some name had to be shortened — and then over every name, since a shortened
 * one could equal another's full name. Tables a forward does not declare are left out: a name
 * nobody writes cannot clash.
 */
export function reportPfNameCollisions(specs: readonly VmSpec[]): Diagnostic[] {
  if (!specs.some((spec) => spec.forwards.some((f) => anyShortened(spec.vm, f.name)))) return [];
  const diagnostics: Diagnostic[] = [];
  const owners = new Map<string, { vm: string; forward: string }>();
  for (const spec of specs) {
    for (const forward of spec.forwards) {
      const names = forwardPfNames(spec, forward);
      // Ban and allow-list tables share one namespace inside the anchor.
      const written = [
        ["table", names.banTable],
        ["table", names.sourceTable],
        ["tag", names.tag],
        ["label", names.label],
      ] as const;
      for (const [kind, name] of written) {
        if (name === null) continue;
        const key = `${kind}:${name}`;
        const owner = owners.get(key);
        if (owner && (owner.vm !== spec.vm || owner.forward !== forward.name)) {
          diagnostics.push({
            code: CODES.NAME_COLLISION,
            severity: "error",
            message: `PF name \`${name}\` for \`${spec.vm}/${forward.name}\` collides with \`${owner.vm}/${owner.forward}\` after shortening`,
            hint: "Rename one of the forwards (or the instance) so their PF names differ.",
            file: spec.file,
            line: forward.line,
            column: 1,
            endLine: forward.line,
            endColumn: 2,
          });
        } else {
          owners.set(key, { vm: spec.vm, forward: forward.name });
        }
      }
    }
  }
  return diagnostics;
}
