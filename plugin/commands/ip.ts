// `ip INSTANCE [--wait SECONDS]`: the VM's address on its vmnet network.
import type { Context } from "../context.js";
import { vmAddress } from "../engine/vm-address.js";
import { EXIT, type ExitCode } from "../errors.js";
import { parseWait } from "../options.js";

export async function ip(ctx: Context, args: string[], options: { wait?: string }): Promise<ExitCode> {
  const { address } = await vmAddress(ctx.host, ctx.out, args[0]!, parseWait(options.wait));
  if (ctx.out.options.json) ctx.out.json({ instance: args[0], address });
  else ctx.out.print(address);
  return EXIT.OK;
}
