// `sudoers [--group G]`: a sudoers rule letting a group run the root-owned copy install made
// without a password, as `limactl sudoers` does for socket_vmnet. It names that copy's launcher
// only, and no SETENV: what root needs to know is passed as arguments (elevate.ts), so no user
// can hand root an environment (NODE_OPTIONS).
import type { Context } from "../context.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";

export async function sudoers(ctx: Context, _args: string[], options: { group?: string }): Promise<ExitCode> {
  const { rootCopy } = ctx.host;
  const group = options.group ?? "admin";
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(group)) throw new CliError(EXIT.USAGE, `--group ${group}: not a group name`);
  const problems = rootCopy.problems();
  if (problems.length > 0) {
    throw new CliError(EXIT.FAILURE, `no root-owned copy of LimaWAN to name: ${problems[0]}`, "Run `limactl limawan install` first; the rule names the copy it makes.");
  }
  ctx.out.print(
    [
      `# LimaWAN: members of ${group} may run the root-owned copy of limactl-limawan without a password.`,
      "# Install: limactl limawan sudoers | sudo tee /etc/sudoers.d/limawan && sudo chmod 440 /etc/sudoers.d/limawan",
      `%${group} ALL=(root:wheel) NOPASSWD: ${rootCopy.launcher}`,
    ].join("\n"),
  );
  return EXIT.OK;
}
