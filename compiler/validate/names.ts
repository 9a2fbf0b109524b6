// Forward and VM names. Both end up inside PF tags, labels and table names, so they are
// restricted to characters PF's lexer takes in a bare word (PF-FACTS.md §7).
import { CODES, DiagnosticSink } from "../diagnostic.js";
import type { ForwardDraft, ForwardName, VmName } from "../ir.js";
import { excerpt } from "../printable.js";

const FORWARD_NAME = /^[a-z][a-z0-9-]*$/;
export const MAX_FORWARD_NAME = 32;
// Lima's own instance names are alphanumerics with . _ - separators; sockets cap their length.
const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const MAX_VM_NAME = 48;

export function isForwardName(text: string): text is ForwardName {
  return text.length <= MAX_FORWARD_NAME && FORWARD_NAME.test(text);
}

export function isVmName(text: string): text is VmName {
  return text.length <= MAX_VM_NAME && VM_NAME.test(text);
}

/**
 * Names seen so far in one VM, checked one forward at a time: bad names, and a name used again
 * (reported at the later forward, naming the line of the first).
 */
export class ForwardNames {
  private readonly firstLine = new Map<string, number>();

  constructor(private readonly sink: DiagnosticSink) {}

  /** Whether the forward's name is usable; reports it if not. */
  check(forward: ForwardDraft): boolean {
    const name = forward.name.value;
    if (!isForwardName(name)) {
      // A derived name (`tcp-22`) is only bad when its ports are (`tcp-Infinity` from a port of
      // 20 digits), and ports.ts reports those: the user wrote no name to blame.
      if (!forward.derivedName) {
        this.sink.error(
          CODES.INVALID_NAME,
          forward.name.at,
          `forward name \`${excerpt(name)}\` is not valid`,
          `Names are lowercase letters, digits and '-', start with a letter, at most ${MAX_FORWARD_NAME} characters.`,
        );
      }
      return false;
    }
    const earlier = this.firstLine.get(name);
    if (earlier !== undefined) {
      this.sink.error(
        CODES.DUPLICATE_NAME,
        forward.name.at,
        `forward name \`${name}\` is already used on line ${earlier}`,
        forward.derivedName ? "Give one of the forwards an explicit name: `expose NAME GUEST as HOST`." : "Give each forward its own name.",
      );
      return false;
    }
    this.firstLine.set(name, forward.at.line);
    return true;
  }
}
