// `check [INSTANCE or FILE…]`: validate annotations and print every diagnostic.
import { hasErrors } from "../../compiler/diagnostic.js";
import { compileFiles } from "../../compiler/pipeline.js";
import type { Context } from "../context.js";
import { allDiagnostics, printDiagnostics } from "../diagnostics-output.js";
import { EXIT, type ExitCode } from "../errors.js";
import { resolveTargets } from "../targets.js";

export async function check(ctx: Context, args: string[], options: { name?: string }): Promise<ExitCode> {
  const targets = await resolveTargets(ctx, args, options);
  const results = compileFiles(targets);
  const diagnostics = allDiagnostics(results);
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
    printDiagnostics(ctx.out, targets, diagnostics);
    for (const r of results) {
      if (!r.annotated) ctx.out.info(`${r.file}: no x-limawan annotation (nothing to expose)`);
      else if (r.spec) ctx.out.info(`${r.file}: ok, ${r.spec.forwards.length} forward(s) for ${r.vm}`);
    }
    if (targets.length === 0) ctx.out.info(`no Lima instances under ${ctx.environment.paths.limaHome}`);
  }
  return hasErrors(diagnostics) ? EXIT.FAILURE : EXIT.OK;
}
