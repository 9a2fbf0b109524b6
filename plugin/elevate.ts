// Raising privileges, as a Mac allows it (LIMA-FACTS.md §9): limactl refuses to run as root,
// so `limactl limawan up web` reaches us as the user, and a command that changes the host
// re-runs itself through /usr/bin/sudo (never a `sudo` found on PATH). Absolute paths to node and to this program,
// since a managed Mac's secure_path may not hold Homebrew's; what sudo's env_reset drops goes
// as `--env NAME=VALUE` arguments. Without a terminal sudo cannot ask for a password: then
// `sudo -n`, and if that is refused, a message saying what to run instead.
import { realpathSync } from "node:fs";
import { PASSWORDLESS_COMMANDS } from "./command.js";
import { PASSED_TO_ROOT } from "./environment.js";
import { CliError, EXIT } from "./errors.js";
import { runSudo, SUDO } from "./host/sudo.js";

/** `--env NAME=VALUE` arguments right after the command name: what the root side reads back. */
export const ENV_FLAG = "--env";

export interface SudoInvocation {
  /** The program sudo runs, and its arguments. */
  command: string[];
  /** The LimaWAN command it runs (`up`), null when there is none. */
  name: string | null;
  /** `sudo -n`: no terminal to ask for a password on. */
  nonInteractive: boolean;
}

/**
 * The sudo command line that re-runs `args` as root, carrying `env`'s pass-through names: the
 * root-owned copy's launcher when it holds this very build (what a sudoers rule names), else
 * this node and program.
 */
export function sudoInvocation(input: { program: string[]; args: readonly string[]; env: NodeJS.ProcessEnv; limaHome: string; interactive: boolean }): SudoInvocation {
  // Global options (none takes a value) may come before the command: the first word is it.
  const at = input.args.findIndex((a) => !a.startsWith("-"));
  const first = at < 0 ? [] : [input.args[at]!];
  const rest = at < 0 ? input.args : [...input.args.slice(0, at), ...input.args.slice(at + 1)];
  const passed: string[] = [];
  const values: Record<string, string | undefined> = { ...input.env, LIMA_HOME: input.limaHome, LIMAWAN_INVOKER_PATH: input.env.PATH };
  for (const name of PASSED_TO_ROOT) {
    const value = values[name];
    if (value !== undefined && value !== "") passed.push(ENV_FLAG, `${name}=${value}`);
  }
  return {
    // The command first, so that a sudoers rule can name it (`limactl-limawan up *`, sudoers.ts).
    command: [...(input.interactive ? [] : ["-n"]), "--", ...input.program, ...first, ...passed, ...rest],
    name: first[0] ?? null,
    nonInteractive: !input.interactive,
  };
}

/**
 * `--env NAME=VALUE` pairs at the front of argv, or right after the command (where
 * sudoInvocation puts them) → the environment they set and the rest of argv. Only the
 * pass-through names: nothing else may be set this way (NODE_OPTIONS and the like would hand
 * root someone else's code).
 */
export function takeEnvFlags(argv: readonly string[]): { env: Record<string, string>; argv: string[] } {
  const env: Record<string, string> = {};
  const lead = argv[0] !== undefined && !argv[0].startsWith("-") ? 1 : 0;
  let i = lead;
  while (argv[i] === ENV_FLAG) {
    const pair = argv[i + 1] ?? "";
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq);
    if (eq <= 0 || !(PASSED_TO_ROOT as readonly string[]).includes(name)) {
      throw new CliError(EXIT.USAGE, `${ENV_FLAG} ${pair}: only ${PASSED_TO_ROOT.join(", ")} can be passed this way`);
    }
    env[name] = pair.slice(eq + 1);
    i += 2;
  }
  return { env, argv: [...argv.slice(0, lead), ...argv.slice(i)] };
}

/** Run `args` again as root through sudo; resolves to its exit code. `installed`: the root-owned launcher to use. */
export async function rerunAsRoot(args: readonly string[], env: NodeJS.ProcessEnv, limaHome: string, describe: string, installed: string | null): Promise<number> {
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  const program = installed ? [installed] : [process.execPath, realpathSync(process.argv[1]!)];
  const invocation = sudoInvocation({ program, args, env, limaHome, interactive });
  const sudoPath = SUDO;
  const sudo = await runSudo(invocation.command, interactive);
  if ("missing" in sudo) {
    throw new CliError(EXIT.ENVIRONMENT, `${describe} needs root, and ${sudoPath} is missing`, `LimaWAN raises its privileges with the system's sudo, ${sudoPath}.`, undefined, null, "tool-missing");
  }
  if ("error" in sudo) {
    throw new CliError(
      EXIT.ENVIRONMENT,
      `${describe} needs root, and ${sudoPath} could not be run (${sudo.error.message})`,
      "LimaWAN raises its privileges with sudo; check that it is installed as the system's.",
      undefined,
      null,
      "tool-missing",
    );
  }
  if (invocation.nonInteractive && sudo.passwordRefused) {
    throw new CliError(
      EXIT.ENVIRONMENT,
      `${describe} needs root, and sudo cannot ask for a password here (no terminal)`,
      !PASSWORDLESS_COMMANDS.includes(invocation.name ?? "")
        ? "Run it in a terminal, where sudo can ask for your password."
        : installed
          ? "Run it in a terminal, where sudo can ask; or let it run without a password: `limactl limawan sudoers` prints a sudoers rule for the installed copy."
          : "Run it in a terminal, where sudo can ask (after `limactl limawan install`, `limactl limawan sudoers` prints a rule that needs no password).",
      undefined,
      null,
      "needs-root",
    );
  }
  return sudo.code;
}
