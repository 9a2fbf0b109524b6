// Command-line option values → typed values, with the same rules as the annotation's own
// statements: a usage error (exit 2) names the option and what it takes.
import type { InterfaceName, Ipv4Address } from "../compiler/ir.js";
import { parseIpv4Address, vmAddressProblem } from "../compiler/validate/addresses.js";
import { INTERFACE_HINT, interfaceNameProblem, isLoopback, LOOPBACK_HINT, loopbackMessage } from "../compiler/validate/interfaces.js";
import { isVmName, MAX_VM_NAME } from "../compiler/validate/names.js";
import { CliError, EXIT } from "./errors.js";

/** --vm-ip: an address PF may redirect to, by the rules `up` applies to a VM's leased address. */
export function parseVmIp(text: string): Ipv4Address {
  const address = parseIpv4Address(text);
  if (!address) throw new CliError(EXIT.USAGE, `--vm-ip ${text} is not an IPv4 address`);
  const problem = vmAddressProblem(address, false);
  if (problem) throw new CliError(EXIT.USAGE, `--vm-ip ${text}: ${problem}, never a VM's`, "Give the VM's address on its vmnet network (`limactl limawan ip INSTANCE`), e.g. 192.168.105.2.");
  return address;
}

/** --name VM: a Lima instance name, as the compiler requires of every VM. */
export function parseVmName(text: string | undefined): string | undefined {
  if (text === undefined || isVmName(text)) return text;
  throw new CliError(EXIT.USAGE, `--name ${text}: not a Lima instance name`, `Instance names are letters, digits, '.', '_' and '-', at most ${MAX_VM_NAME} characters.`);
}

/** --interface IF[,IF]: the same rules as the annotation's `interface` (shape, no loopback), each name once. */
export function parseInterfaceOption(text: string | undefined): InterfaceName[] | undefined {
  if (text === undefined) return undefined;
  const names = [...new Set(text.split(",").map((s) => s.trim()).filter(Boolean))];
  if (names.length === 0) throw new CliError(EXIT.USAGE, `--interface ${text}: name at least one interface`, INTERFACE_HINT);
  for (const name of names) {
    const problem = interfaceNameProblem(name);
    if (problem !== null) throw new CliError(EXIT.USAGE, `--interface ${text}: ${problem}`, INTERFACE_HINT);
  }
  const loopback = (names as InterfaceName[]).find(isLoopback);
  if (loopback) {
    throw new CliError(EXIT.USAGE, `--interface ${text}: ${loopbackMessage(loopback)}`, LOOPBACK_HINT);
  }
  return names as InterfaceName[];
}

/** --wait SECONDS: 0–3600. */
export function parseWait(text: string | undefined): number {
  if (text === undefined) return 0;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3600) throw new CliError(EXIT.USAGE, `--wait ${text}: give a number of seconds (0–3600)`);
  return seconds;
}
