// `sudoers [--group G]`: a sudoers rule letting a group run the root-owned copy install made
// without a password, as `limactl sudoers` does for socket_vmnet. It names that copy's launcher
// only, and only with the commands below as its first argument (elevate.ts puts the command
// first): a process running as a member must not get, without a password, what the other
// commands would do as root — read any file (`plan FILE`, `check FILE`), edit files (`expose`),
// replace or remove the copy and the daemon (`install`, `uninstall`). No SETENV either: what root
// needs to know is passed as arguments (elevate.ts), so no user can hand root an environment
// (NODE_OPTIONS).
import type { Context } from "../context.js";
import { PASSWORDLESS_COMMANDS } from "../command.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";

export async function sudoers(ctx: Context, _args: string[], options: { group?: string }): Promise<ExitCode> {
  const { rootCopy } = ctx.host;
  const group = options.group ?? "admin";
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(group)) throw new CliError(EXIT.USAGE, `--group ${group}: not a group name`);
  const problems = rootCopy.problems();
  if (problems.length > 0) {
    throw new CliError(EXIT.FAILURE, `no root-owned copy of LimaWAN to name: ${problems[0]}`, "Run `limactl limawan install` first; the rule names the copy it makes.");
  }
  // sudoers(5): a command with arguments must match them, `*` matching any text (spaces too);
  // `up *` does not match a bare `up`, so both are listed.
  // A path's `\`, `,`, `:`, `=`, `#` and spaces are escaped, as sudoers(5) wants them; glob
  // characters in it would be wildcards there, so such a path gets no rule.
  if (/[*?[\]!]/.test(rootCopy.launcher)) throw new CliError(EXIT.FAILURE, `${rootCopy.launcher}: a sudoers rule cannot name a path with * ? [ ] or !`, "Install the copy elsewhere (LIMAWAN_LIBEXEC_DIR).");
  const launcher = rootCopy.launcher.replace(/[\\,:=# ]/g, "\\$&");
  const commands = PASSWORDLESS_COMMANDS.flatMap((c) => [`${launcher} ${c}`, `${launcher} ${c} *`]);
  ctx.out.print(
    [
      `# LimaWAN: members of ${group} may run the root-owned copy of limactl-limawan without a password,`,
      `# for ${PASSWORDLESS_COMMANDS.join(", ")} only; every other command as root asks for the password.`,
      "# Install, checked by visudo first (a broken file in /etc/sudoers.d stops sudo for everyone):",
      "#   limactl limawan sudoers > /tmp/limawan.sudoers && sudo visudo -cf /tmp/limawan.sudoers &&",
      "#   sudo install -m 440 -o root -g wheel /tmp/limawan.sudoers /etc/sudoers.d/limawan",
      `Cmnd_Alias LIMAWAN = ${commands.join(", \\\n    ")}`,
      `%${group} ALL=(root:wheel) NOPASSWD: LIMAWAN`,
    ].join("\n"),
  );
  return EXIT.OK;
}
