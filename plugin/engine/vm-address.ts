// A running instance's vmnet address, optionally waiting for it (DHCP can lag the `running`
// event by a few seconds). `ip` prints it; `up --wait` waits here, before taking the state lock.
import type { Ipv4Address } from "../../compiler/ir.js";
import { CliError, EXIT } from "../errors.js";
import type { Host } from "../host/index.js";
import { limaCannotRead, limaCannotReadError, noSuchInstance, routableNetworks, type Instance } from "../host/lima.js";
import type { Output } from "../output.js";
import { guestAddress } from "./locate-guest.js";

export const POLL_INTERVAL_MS = 500;

export interface LocatedVm { instance: Instance; address: Ipv4Address }

export async function vmAddress(host: Host, out: Output, name: string, waitSeconds = 0): Promise<LocatedVm> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (let attempt = 0; ; attempt++) {
    const [instance] = await host.lima.list([name]);
    if (!instance) throw noSuchInstance(name);
    if (limaCannotRead(instance)) throw limaCannotReadError(instance, host.lima.configFile(name)); // waiting will not fix the file
    const unreachable = instance.status === "Running" ? unreachableReason(instance) : null;
    if (unreachable) throw unreachableError(name, unreachable);
    const address = instance.status === "Running" ? await guestAddress(host, instance) : null;
    if (address) {
      out.endProgress();
      return { instance, address };
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      out.endProgress();
      throw instance.status === "Running" ? noAddress(host, name, waitSeconds) : notRunning(name, instance.status, waitSeconds);
    }
    out.progress(`waiting for ${name}'s address (${instance.status}, ${Math.ceil(remaining / 1000)}s left)…`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_INTERVAL_MS * Math.min(attempt + 1, 4), remaining)));
  }
}

/** PF reaches a VM only on a vmnet network (or vzNAT): not through Lima's user-mode NIC. */
export function unreachableReason(instance: Instance): { message: string; hint: string } | null {
  if (routableNetworks(instance).length > 0) return null;
  return { message: "has no vmnet network, so PF cannot reach it", hint: "Add `networks: [{lima: shared}]` (or `vzNAT: true`) to its lima.yaml and restart it." };
}

/** `up`'s refusal of a VM PF cannot reach (unreachableReason says why). */
export function unreachableError(name: string, reason: { message: string; hint: string }): CliError {
  return new CliError(EXIT.FAILURE, `instance \`${name}\` ${reason.message}`, reason.hint, undefined, null, "vm-unavailable");
}

/** Why a command needs the instance running and it is not: not started, or Lima cannot read its lima.yaml. */
export function notStarted(host: Host, instance: Instance): CliError {
  return notStartedAt(instance, host.lima.configFile(instance.name));
}

/** notStarted, from plain data: the instance and its lima.yaml's path. */
export function notStartedAt(instance: Instance, configFile: string): CliError {
  return limaCannotRead(instance) ? limaCannotReadError(instance, configFile) : notRunning(instance.name, instance.status);
}

export function notRunning(name: string, status: string, waitSeconds = 0): CliError {
  return new CliError(
    EXIT.FAILURE,
    `instance \`${name}\` is ${status.toLowerCase() || "not running"}${waitSeconds ? ` after waiting ${waitSeconds}s` : ""}`,
    waitSeconds ? `Start it first: limactl start ${name}` : `Start it first (limactl start ${name}), or use --wait SECONDS.`,
    undefined,
    null,
    "vm-unavailable",
  );
}

export function noAddress(host: Host, name: string, waitSeconds = 0): CliError {
  return noAddressIn(host.leases.file, name, waitSeconds);
}

/** noAddress, from plain data: bootpd's lease file it looked in. */
export function noAddressIn(leasesFile: string, name: string, waitSeconds = 0): CliError {
  return new CliError(
    EXIT.FAILURE,
    `no address for \`${name}\` on its vmnet network${waitSeconds ? ` after waiting ${waitSeconds}s` : ""}`,
    `Waited for a DHCP lease in ${leasesFile} and for \`ip addr\` in the guest; retry with --wait 60.`,
    undefined,
    null,
    "vm-unavailable",
  );
}

/** `up NAME… --wait S`: every named VM's address, waited for side by side (nothing when S is 0). */
export async function awaitAddresses(host: Host, out: Output, names: readonly string[], waitSeconds: number): Promise<Map<string, Ipv4Address> | undefined> {
  if (waitSeconds <= 0) return undefined;
  const located = await Promise.all(names.map((name) => vmAddress(host, out, name, waitSeconds)));
  return new Map(located.map((l) => [l.instance.name, l.address]));
}
