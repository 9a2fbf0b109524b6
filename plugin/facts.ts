// Host facts the compiler needs, gathered once per command: VM addresses and the default
// WAN interface. The compiler never looks these up itself.
import type { HostFacts } from "../compiler/emit-pf.js";
import type { InterfaceName, Ipv4Address, VmSpec } from "../compiler/ir.js";
import { parseIpv4Address } from "../compiler/validate/addresses.js";
import { isInterfaceName, isLoopback, LOOPBACK_HINT, loopbackMessage } from "../compiler/validate/interfaces.js";
import type { Context } from "./context.js";
import { CliError, EXIT } from "./errors.js";
import { defaultInterface } from "./host/route.js";

export function parseVmIp(text: string): Ipv4Address {
  const address = parseIpv4Address(text);
  if (!address) throw new CliError(EXIT.USAGE, `--vm-ip ${text} is not an IPv4 address`);
  return address;
}

/** --interface IF[,IF]: the same rules as the annotation's `interface` (shape, no loopback), each name once. */
export function parseInterfaceOption(text: string): InterfaceName[] {
  const names = [...new Set(text.split(",").map((s) => s.trim()).filter(Boolean))];
  const bad = names.find((n) => !isInterfaceName(n));
  if (names.length === 0 || bad !== undefined) throw new CliError(EXIT.USAGE, `--interface ${text}: \`${bad ?? ""}\` is not an interface name`);
  const loopback = (names as InterfaceName[]).find(isLoopback);
  if (loopback) {
    throw new CliError(EXIT.USAGE, `--interface ${text}: ${loopbackMessage(loopback)}`, LOOPBACK_HINT);
  }
  return names as InterfaceName[];
}

/** --interface, else the default route's interface — asked only when some forward needs it. */
export async function hostFacts(ctx: Context, specs: readonly VmSpec[], option: string | undefined): Promise<HostFacts> {
  if (option) {
    const [first, ...rest] = parseInterfaceOption(option);
    return { defaultInterfaces: [first!, ...rest] };
  }
  const needed = specs.some((s) => s.forwards.some((f) => f.interfaces === null));
  const found = needed ? await defaultInterface(ctx.runner) : null;
  if (found) return { defaultInterfaces: [found] };
  if (!needed) return { defaultInterfaces: ["en0" as InterfaceName] }; // unused: every forward names its interface
  throw new CliError(
    EXIT.ENVIRONMENT,
    "cannot tell the WAN interface: no default route (`route -n get default` gave none)",
    "Pass --interface en0, or add `interface en0` to the annotation.",
  );
}
