// A running instance's vmnet address, optionally waiting for it (DHCP can lag the
// `running` event by a few seconds).
import type { Ipv4Address } from "../compiler/ir.js";
import type { Context } from "./context.js";
import { CliError, EXIT } from "./errors.js";
import { routableNetworks, type Instance } from "./host/lima.js";

export const POLL_INTERVAL_MS = 500;

export async function findInstance(ctx: Context, name: string): Promise<Instance> {
  const [instance] = await ctx.lima.list([name]);
  if (!instance) throw new CliError(EXIT.FAILURE, `no Lima instance named \`${name}\``, "See `limactl list`.");
  return instance;
}

export async function vmAddress(ctx: Context, name: string, waitSeconds = 0): Promise<{ instance: Instance; address: Ipv4Address }> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (let attempt = 0; ; attempt++) {
    const instance = await findInstance(ctx, name);
    if (instance.status === "Running" && routableNetworks(instance).length === 0) {
      ctx.out.endProgress();
      throw new CliError(
        EXIT.FAILURE,
        `instance \`${name}\` has no vmnet network, so PF cannot reach it`,
        "Add `networks: [{lima: shared}]` (or `vzNAT: true`) to its lima.yaml and restart it.",
      );
    }
    const address = instance.status === "Running" ? await ctx.lima.guestAddress(instance) : null;
    if (address) {
      ctx.out.endProgress();
      return { instance, address };
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      ctx.out.endProgress();
      if (instance.status !== "Running") {
        throw new CliError(
          EXIT.FAILURE,
          `instance \`${name}\` is ${instance.status.toLowerCase() || "not running"}${waitSeconds ? ` after waiting ${waitSeconds}s` : ""}`,
          `Start it first: limactl start ${name}`,
        );
      }
      throw new CliError(
        EXIT.FAILURE,
        `no address for \`${name}\` on its vmnet network${waitSeconds ? ` after waiting ${waitSeconds}s` : ""}`,
        `Waited for a DHCP lease in ${ctx.environment.paths.dhcpdLeases} and for \`ip addr\` in the guest; retry with --wait 60.`,
      );
    }
    ctx.out.progress(`waiting for ${name}'s address (${instance.status}, ${Math.ceil(remaining / 1000)}s left)…`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_INTERVAL_MS * Math.min(attempt + 1, 4), remaining)));
  }
}
