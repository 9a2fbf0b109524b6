// WAN interface names (`interface`, `on`). Only the shape is checked here: whether the Mac
// has the interface is a host fact `doctor` and `up` look at.
import { CODES, DiagnosticSink } from "../diagnostic.js";
import type { InterfaceName, Located } from "../ir.js";
import { excerpt } from "../printable.js";

// BSD interface names: a driver name and a unit number, under IFNAMSIZ (16).
const INTERFACE = /^[a-z]{1,12}[0-9]{1,3}$/;

export function isInterfaceName(text: string): text is InterfaceName {
  return INTERFACE.test(text);
}

/** PF-FACTS.md §5: the Mac's own connections never pass a WAN rdr; lo0 rules do not reach a VM. */
export function isLoopback(name: InterfaceName): boolean {
  return name.startsWith("lo");
}
export const loopbackMessage = (name: string) => `\`${name}\` is the loopback interface; PF cannot redirect the Mac's own connections to a VM`;
export const LOOPBACK_HINT = "Name the interface clients arrive on (e.g. en0); from the Mac itself, connect to the VM's address directly.";

export function validateInterfaces(names: readonly Located<string>[], sink: DiagnosticSink): InterfaceName[] | null {
  const out: InterfaceName[] = [];
  let ok = true;
  for (const name of names) {
    if (!isInterfaceName(name.value)) {
      sink.error(CODES.INVALID_INTERFACE, name.at, `\`${excerpt(name.value)}\` is not an interface name`, "Use a name as `ifconfig -l` prints it, e.g. en0.");
      ok = false;
    } else if (isLoopback(name.value)) {
      sink.error(CODES.INVALID_INTERFACE, name.at, loopbackMessage(name.value), LOOPBACK_HINT);
      ok = false;
    } else if (!out.includes(name.value)) {
      out.push(name.value);
    }
  }
  return ok ? out : null;
}
