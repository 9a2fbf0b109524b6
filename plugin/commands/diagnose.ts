// `diagnose INSTANCE [--external] [--report FILE] [--json]`: every step between a WAN client
// and each forward's service, judged (engine/diagnose.ts) from facts read without changing
// anything (engine/diagnose-facts.ts). Exit 1 when a step fails; unknown steps (PF without
// root) do not fail it: they are not findings, and the notes say how to read them (--sudo).
import os from "node:os";
import type { Context } from "../context.js";
import { diagnose, type Diagnosis } from "../engine/diagnose.js";
import { gatherDiagnoseFacts } from "../engine/diagnose-facts.js";
import { diagnosisLines, markdownReport, type ReportContext } from "../engine/diagnose-report.js";
import { diagnoseStepJson } from "../engine/finding-render.js";
import { EXIT, type ExitCode } from "../errors.js";
import { writeUserFile } from "../host/user-file.js";
import { VERSION } from "../version.js";

export interface DiagnoseOptions { external?: boolean; report?: string }

export async function diagnoseCommand(ctx: Context, args: string[], options: DiagnoseOptions): Promise<ExitCode> {
  const name = args[0]!;
  const facts = await gatherDiagnoseFacts(ctx.host, name, { external: Boolean(options.external), isRoot: ctx.environment.isRoot });
  const diagnosis = diagnose(facts);

  if (options.report) {
    const report = markdownReport(diagnosis, await reportContext(ctx, name, options));
    writeUserFile(options.report, report, ctx.environment.invokingUser);
    ctx.out.info(`wrote ${options.report}: paste it into a bug report (public addresses are left out)`);
  }
  if (ctx.out.options.json) ctx.out.json(jsonOf(diagnosis));
  else {
    const c = ctx.out.c;
    ctx.out.print(diagnosisLines(diagnosis, { pass: c.green, warn: c.yellow, fail: (s) => c.red(c.bold(s)), dim: c.dim, bold: c.bold }).join("\n"));
  }
  return diagnosis.ok ? EXIT.OK : EXIT.FAILURE;
}

function jsonOf(diagnosis: Diagnosis) {
  const { instance, ok, complete, forwards, notes } = diagnosis;
  return { instance, ok, complete, limawan: VERSION, forwards: forwards.map((f) => ({ ...f, steps: f.steps.map(diagnoseStepJson) })), notes };
}

/** What the report says of the Mac: only what could be read, and nothing identifying it. */
async function reportContext(ctx: Context, name: string, options: DiagnoseOptions): Promise<ReportContext> {
  const { host, environment } = ctx;
  const sysctl = (key: string) => host.sysctl.get(key).catch(() => null);
  const [macos, darwin, lima] = await Promise.all([sysctl("kern.osproductversion"), sysctl("kern.osrelease"), host.lima.version()]);
  const facts: Array<[string, string]> = [];
  if (macos) facts.push(["macOS", macos]);
  if (darwin) facts.push(["Darwin", darwin]);
  facts.push(["Lima", lima ? ("major" in lima ? lima.text.replace(/^limactl version /, "") : `version unknown (${lima.text})`) : "not found"]);
  facts.push(["Node.js", process.version], ["run as", environment.isRoot ? "root" : "the user (PF and LimaWAN's record unread: add --sudo)"]);
  return {
    version: VERSION,
    generatedAt: new Date().toISOString(),
    facts,
    command: `limactl limawan diagnose ${name}${options.external ? " --external" : ""}${environment.isRoot ? " --sudo" : ""}`,
    home: environment.invokingUser?.home ?? os.homedir(),
  };
}
