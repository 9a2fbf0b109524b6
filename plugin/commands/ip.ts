// `ip INSTANCE [--wait SECONDS]`: the VM's address on its vmnet network.
import type { Context } from "../context.js";
import { EXIT, type ExitCode } from "../errors.js";
import { vmAddress } from "../vm-address.js";
import { parseWait } from "./up.js";

export async function ip(ctx: Context, args: string[], options: { wait?: string }): Promise<ExitCode> {
  const { address } = await vmAddress(ctx, args[0]!, parseWait(options.wait));
  if (ctx.out.options.json) ctx.out.json({ instance: args[0], address });
  else ctx.out.print(address);
  return EXIT.OK;
}
