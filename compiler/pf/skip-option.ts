// `set skip on …`: the interfaces PF leaves alone — no filtering, no translation, no state.
// Every main-ruleset `pfctl -f` clears every interface's skip flag and sets flags again only
// from the `set skip` options it loads, which a `-N` or `-R` load does not (PF-FACTS.md §4b,
// pfctl.c main(): pfctl_clear_interface_flags). So after putting the anchor points into the
// loaded ruleset, LimaWAN loads the flags it found back, as this one option.
import { PFCTL_KEYWORDS } from "../validate/interfaces.js";

/**
 * A name pfctl lists in `-s Interfaces` and `set skip on` takes unquoted: an interface (`lo0`,
 * `utun3`, `bridge100`) or an interface group, under IFNAMSIZ (16), and not one of pfctl's
 * keywords (which its lexer would read as such).
 */
export function isSkipName(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_]{0,14}$/.test(name) && !PFCTL_KEYWORDS.has(name);
}

export interface SkipOption {
  /** `set skip on lo0` or `set skip on { lo0 utun3 }`; null when no name can be written. */
  option: string | null;
  /** Names isSkipName refuses, left out. */
  unusable: string[];
}

/** The option that skips exactly `names` (those isSkipName accepts), in their order. */
export function skipOption(names: Iterable<string>): SkipOption {
  const usable: string[] = [];
  const unusable: string[] = [];
  for (const name of names) (isSkipName(name) ? usable : unusable).push(name);
  const option = usable.length === 0 ? null : usable.length === 1 ? `set skip on ${usable[0]}` : `set skip on { ${usable.join(" ")} }`;
  return { option, unusable };
}
