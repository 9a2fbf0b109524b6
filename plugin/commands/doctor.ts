// `doctor`: prerequisites and host checks, each with what to do about it. Exit 1 when
// something needed is wrong; reads what it can without root and says what it could not.
// The facts are read first (engine/doctor-facts.ts), then judged (engine/doctor.ts, pure).
import type { Context } from "../context.js";
import { doctor as judge } from "../engine/doctor.js";
import { gatherDoctorFacts } from "../engine/doctor-facts.js";
import { anyFailed } from "../engine/finding.js";
import { DOCTOR_LAYOUT, doctorCheckJson, findingLines } from "../engine/finding-render.js";
import { EXIT, type ExitCode } from "../errors.js";
import { VERSION } from "../version.js";

export async function doctor(ctx: Context): Promise<ExitCode> {
  const findings = judge(await gatherDoctorFacts(ctx.host, ctx.environment, VERSION), Date.now());
  const failed = anyFailed(findings);
  if (ctx.out.options.json) ctx.out.json({ ok: !failed, checks: findings.map(doctorCheckJson) });
  else {
    const c = ctx.out.c;
    const paint = { pass: c.green, warn: c.yellow, fail: c.red, unknown: c.dim, skip: c.dim, dim: c.dim };
    ctx.out.print(findings.flatMap((f) => findingLines(f, paint, DOCTOR_LAYOUT)).join("\n"));
  }
  return failed ? EXIT.FAILURE : EXIT.OK;
}
