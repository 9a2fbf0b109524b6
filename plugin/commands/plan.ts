// `plan [INSTANCE or FILE…] [--vm-ip IP] [--interface IF] [--json]`: compile and print the
// PF anchor that `up` would load. Changes nothing.
import { emitAnchor, type PlacedVm } from "../../compiler/emit-pf.js";
import { hasErrors } from "../../compiler/diagnostic.js";
import type { Ipv4Address } from "../../compiler/ir.js";
import { compileFiles } from "../../compiler/pipeline.js";
import type { Context } from "../context.js";
import { vmAddress } from "../engine/vm-address.js";
import { wanInterfaces } from "../engine/wan-interfaces.js";
import { EXIT, type ExitCode } from "../errors.js";
import { parseInterfaceOption, parseVmIp } from "../options.js";
import { resolveTargets, sourcesOfTargets, type Target } from "../targets.js";

/** Lima's `shared` network hands out 192.168.105.2 first; used for plain files without --vm-ip. */
export const EXAMPLE_VM_ADDRESS = "192.168.105.2";

export interface PlanOptions { vmIp?: string; interface?: string; name?: string }

export async function plan(ctx: Context, args: string[], options: PlanOptions): Promise<ExitCode> {
  const interfaces = parseInterfaceOption(options.interface);
  const targets = await resolveTargets(ctx.host, args, options);
  const sources = sourcesOfTargets(targets);
  const results = compileFiles(targets);
  const diagnostics = results.flatMap((r) => r.diagnostics);
  if (hasErrors(diagnostics)) {
    if (ctx.out.options.json) ctx.out.json({ ok: false, diagnostics });
    ctx.out.diagnostics(diagnostics, sources);
    return EXIT.FAILURE;
  }
  ctx.out.diagnostics(diagnostics, sources);

  const placed: PlacedVm[] = [];
  for (const [i, result] of results.entries()) {
    if (!result.spec) {
      ctx.out.info(`${result.file}: no x-limawan annotation, nothing to plan`);
      continue;
    }
    placed.push({ spec: result.spec, address: await addressFor(ctx, targets[i]!, options.vmIp) });
  }
  const facts = await wanInterfaces(ctx.host, placed.map((p) => p.spec), interfaces);
  const emitted = emitAnchor(placed, facts);
  if (!emitted.ok) {
    if (ctx.out.options.json) ctx.out.json({ ok: false, diagnostics: emitted.diagnostics });
    ctx.out.diagnostics(emitted.diagnostics, sources);
    return EXIT.FAILURE;
  }
  if (ctx.out.options.json) {
    ctx.out.json({
      ok: true,
      anchor: emitted.text,
      interfaces: facts.defaultInterfaces,
      vms: placed.map((p) => ({ vm: p.spec.vm, file: p.spec.file, address: p.address, forwards: p.spec.forwards })),
      diagnostics,
    });
  } else {
    ctx.out.print(emitted.text);
  }
  return EXIT.OK;
}

async function addressFor(ctx: Context, target: Target, vmIp: string | undefined): Promise<Ipv4Address> {
  if (vmIp) return parseVmIp(vmIp);
  if (target.kind === "instance") return (await vmAddress(ctx.host, ctx.out, target.vm)).address;
  ctx.out.info(`${target.file}: no --vm-ip given, planning for ${EXAMPLE_VM_ADDRESS} (the first address of Lima's shared network)`);
  return parseVmIp(EXAMPLE_VM_ADDRESS);
}
