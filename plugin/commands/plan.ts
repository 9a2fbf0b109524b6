// `plan [INSTANCE or FILE…] [--vm-ip IP] [--interface IF] [--json]`: compile and print the
// PF anchor that `up` would load. Changes nothing.
import { emitAnchor, type PlacedVm } from "../../compiler/emit-pf.js";
import { hasErrors } from "../../compiler/diagnostic.js";
import type { Ipv4Address } from "../../compiler/ir.js";
import { compileFiles } from "../../compiler/pipeline.js";
import type { Context } from "../context.js";
import { allDiagnostics, printDiagnostics } from "../diagnostics-output.js";
import { EXIT, type ExitCode } from "../errors.js";
import { hostFacts, parseVmIp } from "../facts.js";
import { resolveTargets, type Target } from "../targets.js";
import { vmAddress } from "../vm-address.js";

/** Lima's `shared` network hands out 192.168.105.2 first; used for plain files without --vm-ip. */
export const EXAMPLE_VM_ADDRESS = "192.168.105.2";

export interface PlanOptions { vmIp?: string; interface?: string; name?: string }

export async function plan(ctx: Context, args: string[], options: PlanOptions): Promise<ExitCode> {
  const targets = await resolveTargets(ctx, args, options);
  const results = compileFiles(targets);
  const diagnostics = allDiagnostics(results);
  if (hasErrors(diagnostics)) {
    if (ctx.out.options.json) ctx.out.json({ ok: false, diagnostics });
    printDiagnostics(ctx.out, targets, diagnostics);
    return EXIT.FAILURE;
  }
  printDiagnostics(ctx.out, targets, diagnostics);

  const placed: PlacedVm[] = [];
  for (const result of results) {
    if (!result.spec) {
      ctx.out.info(`${result.file}: no x-limawan annotation, nothing to plan`);
      continue;
    }
    const target = targets.find((t) => t.file === result.file)!;
    placed.push({ spec: result.spec, address: await addressFor(ctx, target, options.vmIp) });
  }
  const facts = await hostFacts(ctx, placed.map((p) => p.spec), options.interface);
  const emitted = emitAnchor(placed, facts);
  if (!emitted.ok) {
    if (ctx.out.options.json) ctx.out.json({ ok: false, diagnostics: emitted.diagnostics });
    printDiagnostics(ctx.out, targets, emitted.diagnostics);
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
  if (target.kind === "instance") return (await vmAddress(ctx, target.vm)).address;
  ctx.out.info(`${target.file}: no --vm-ip given, planning for ${EXAMPLE_VM_ADDRESS} (the first address of Lima's shared network)`);
  return parseVmIp(EXAMPLE_VM_ADDRESS);
}

