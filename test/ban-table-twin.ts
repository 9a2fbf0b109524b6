// Two forwards whose PF names collide after shortening (LW701), for the compiler's and the
// engine's tests. A long forward name on VM `alpha` gets the ban table
// `lw_alpha_<13 chars>_<hash>_ban`; VM `alpha_<the first 9 chars>` with a forward named <hash>
// writes exactly that, unshortened. The hash must start with a letter to be a forward name.
import { forwardIdentifiers } from "../compiler/pf-names.js";

export function banTableTwin(): { name: string; hash: string; twin: string } {
  let name = "";
  let hash = "";
  for (let i = 0; !/^[a-f]/.test(hash); i++) {
    name = `a-very-long-forward-name-${i}`;
    hash = /_([0-9a-f]{8})_ban$/.exec(forwardIdentifiers("alpha" as never, name as never).banTable)![1]!;
  }
  return { name, hash, twin: `alpha_${name.slice(0, 9)}` };
}
