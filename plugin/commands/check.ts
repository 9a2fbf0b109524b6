// `check [INSTANCE or FILE…]`: validate annotations and print every diagnostic.
import { hasErrors } from "../../compiler/diagnostic.js";
import { compileFiles } from "../../compiler/pipeline.js";
import type { Context } from "../context.js";
import { EXIT, type ExitCode } from "../errors.js";
import { resolveTargets, sourcesOfTargets } from "../targets.js";

export async function check(ctx: Context, args: string[], options: { name?: string }): Promise<ExitCode> {
  const targets = await resolveTargets(ctx.host, args, options);
  const results = compileFiles(targets);
  const diagnostics = results.flatMap((r) => r.diagnostics);
  if (ctx.out.options.json) {
    ctx.out.json({
      ok: !hasErrors(diagnostics),
      files: results.map((r) => ({
        file: r.file,
        vm: r.vm,
        annotated: r.annotated,
        forwards: r.spec?.forwards.length ?? 0,
        diagnostics: r.diagnostics,
      })),
    });
  } else {
    ctx.out.diagnostics(diagnostics, sourcesOfTargets(targets));
    for (const r of results) {
      if (!r.annotated && !hasErrors(r.diagnostics)) ctx.out.info(`${r.file}: no x-limawan annotation (nothing to expose)`);
      else if (r.spec) ctx.out.info(`${r.file}: ok, ${r.spec.forwards.length} forward(s) for ${r.vm}`);
    }
    if (targets.length === 0) ctx.out.info(`no Lima instances under ${ctx.host.lima.limaHome}`);
  }
  return hasErrors(diagnostics) ? EXIT.FAILURE : EXIT.OK;
}
