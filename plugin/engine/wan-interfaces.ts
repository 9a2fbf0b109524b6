// The WAN interfaces the compiler needs as a host fact: --interface when given, else the
// default route's interface — asked only when some forward names none.
import type { HostFacts } from "../../compiler/emit-pf.js";
import type { InterfaceName, VmSpec } from "../../compiler/ir.js";
import { CliError, EXIT } from "../errors.js";
import type { Host } from "../host/index.js";

/** `defaultInterface`: the default route's interface as the caller keeps it (the watcher); else `route -n get default`. */
export async function wanInterfaces(
  host: Host,
  specs: readonly VmSpec[],
  given: readonly InterfaceName[] | undefined,
  defaultInterface: () => Promise<InterfaceName | null> = () => host.route.defaultInterface(),
): Promise<HostFacts> {
  if (given && given.length > 0) return { defaultInterfaces: [given[0]!, ...given.slice(1)] };
  const needed = specs.some((s) => s.forwards.some((f) => f.interfaces === null));
  const found = needed ? await defaultInterface() : null;
  if (found) return { defaultInterfaces: [found] };
  if (!needed) return { defaultInterfaces: ["en0" as InterfaceName] }; // unused: every forward names its interface
  throw new CliError(
    EXIT.ENVIRONMENT,
    "cannot tell the WAN interface: no default route (`route -n get default` gave none)",
    "Pass --interface en0, or add `interface en0` to the annotation.",
  );
}
