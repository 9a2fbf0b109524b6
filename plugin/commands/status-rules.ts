// `status --rules`: the rules loaded in the limawan anchor, each with the lima.yaml line it came from.
import type { Context } from "../context.js";
import { loadedRules } from "../engine/loaded-rules.js";
import { inspectState } from "../engine/state-recovery.js";
import { EXIT, type ExitCode } from "../errors.js";

export /** `--rules`: the loaded anchor, each rule with the lima.yaml line it came from. */
async function rules(ctx: Context): Promise<ExitCode> {
  const { state, damaged } = await inspectState(ctx.host);
  if (damaged) ctx.out.warn(`${ctx.host.state.file} is damaged (${damaged}); the rules below are rendered from the state rebuilt from PF's rules`);
  const loaded = loadedRules(state);
  if (ctx.out.options.json) {
    ctx.out.json(loaded);
    return EXIT.OK;
  }
  if (!loaded.matchesRecord) ctx.out.warn("LimaWAN's record no longer matches the anchor it loaded; `limactl limawan up --all` loads it again");
  if (loaded.rules.length === 0) {
    ctx.out.info("no LimaWAN rules are loaded");
    return EXIT.OK;
  }
  const where = (r: (typeof loaded.rules)[number]) => (r.origin === null ? "" : r.origin.file ? `${r.origin.file}:${r.origin.line}` : `VM ${r.origin.vm}`);
  const width = Math.max(...loaded.rules.map((r) => where(r).length));
  ctx.out.print(loaded.rules.map((r) => (r.origin === null ? ctx.out.c.dim(r.rule) : `${ctx.out.c.dim(where(r).padEnd(width))}  ${r.rule}`)).join("\n"));
  return EXIT.OK;
}
