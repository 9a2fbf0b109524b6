// `harden INSTANCE [--dry-run] [--undo]`: inside the guest, SSH with keys only (no passwords, no
// keyboard-interactive, no root login) and a fail2ban jail for each SSH port LimaWAN forwards.
// The plan is pure (engine/harden.ts); --dry-run prints it as diffs; the guest is changed
// through `limactl shell` as the user, with sudo inside (engine/harden-guest.ts). Refuses when
// the Lima user has no authorized key: passwords off would lock them out.
import { compileFile } from "../../compiler/pipeline.js";
import type { Context } from "../context.js";
import { BACKUP_DIR, planHardening, type FileChange } from "../engine/harden.js";
import { applyHardening, applyUndo, readHardenFacts, readUndo } from "../engine/harden-guest.js";
import { unifiedDiff } from "../engine/unified-diff.js";
import { notStarted } from "../engine/vm-address.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { noSuchInstance } from "../host/lima.js";

export interface HardenOptions { undo?: boolean; dryRun?: boolean }

export async function harden(ctx: Context, args: string[], options: HardenOptions): Promise<ExitCode> {
  const name = args[0]!;
  const { host, out } = ctx;
  const [instance] = await host.lima.list([name]);
  if (!instance) throw noSuchInstance(name);
  if (instance.status !== "Running") throw notStarted(ctx.host, instance);

  if (options.undo) {
    const undo = await readUndo(host, name);
    if (!undo) return report(ctx, name, [], [], `${name}: nothing to undo (harden has not changed it, or its changes were undone)`);
    if (ctx.dryRun) return report(ctx, name, undo.changes, [], `${name}: --undo would restore ${undo.changes.length} file(s)`);
    const done = await applyUndo(host, name, undo.changes, undo.services);
    return report(ctx, name, undo.changes, done, `${name}: restored what harden changed; the backups in ${BACKUP_DIR} are gone`);
  }

  const file = host.lima.configFile(name);
  const result = compileFile({ vm: name, file, text: await host.lima.readConfig(name) });
  if (result.annotated && !result.spec) {
    throw new CliError(EXIT.FAILURE, `${file}'s annotation has errors: harden needs it to know the SSH forwards`, `limactl limawan check ${name}`);
  }
  const facts = await readHardenFacts(host, name, result.spec);
  const plan = planHardening(facts);
  if (!plan.ok) throw new CliError(EXIT.FAILURE, plan.refusal, plan.hint);
  for (const note of plan.notes) out.info(`${name}: ${note}`);
  if (plan.changes.length === 0) return report(ctx, name, [], [], `${name} is hardened already: nothing to change`);
  if (ctx.dryRun) {
    const services = [plan.reloadSsh ? `reload ${facts.sshUnit}` : "", plan.reloadFail2ban ? "reload fail2ban" : ""].filter(Boolean);
    return report(ctx, name, plan.changes, [], `${name}: would change ${plan.changes.length} file(s)${services.length ? ` and ${services.join(", ")}` : ""}; nothing was changed`);
  }
  const done = await applyHardening(host, name, plan.changes, facts.manifest, facts);
  return report(ctx, name, plan.changes, done, `${name} hardened; the originals are kept in ${BACKUP_DIR} (\`limactl limawan harden ${name} --undo\` puts them back)`);
}

function actionOf(change: FileChange): "create" | "modify" | "remove" {
  return change.before === null ? "create" : change.after === null ? "remove" : "modify";
}

/** Diffs on stdout (--dry-run), or what changed; --json carries both. */
function report(ctx: Context, name: string, changes: readonly FileChange[], done: readonly string[], summary: string): ExitCode {
  const { out } = ctx;
  if (out.options.json) {
    out.json({
      instance: name,
      dryRun: ctx.dryRun,
      changes: changes.map((c) => ({ path: c.path, action: actionOf(c), diff: unifiedDiff(c.before, c.after, c.path) })),
      services: done,
    });
    return EXIT.OK;
  }
  if (ctx.dryRun) for (const change of changes) out.print(unifiedDiff(change.before, change.after, change.path).trimEnd());
  else for (const change of changes) out.info(`${actionOf(change) === "create" ? "created" : actionOf(change) === "remove" ? "removed" : "changed"} ${change.path}`);
  for (const line of done) out.info(line);
  out.info(summary);
  return EXIT.OK;
}
