// What every command receives: the environment, the one Output and the host adapters.
import { readEnvironment, type Environment } from "./environment.js";
import { createHost, type Host } from "./host/index.js";
import { createRunner } from "./host/run.js";
import { colourWanted, Output } from "./output.js";

export interface GlobalOptions { json?: boolean; quiet?: boolean; verbose?: boolean; color?: boolean; dryRun?: boolean }

export interface Context {
  environment: Environment;
  out: Output;
  host: Host;
  dryRun: boolean;
}

export function createContext(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Context {
  const environment = readEnvironment(env);
  const out = new Output({
    json: Boolean(options.json),
    quiet: Boolean(options.quiet),
    verbose: Boolean(options.verbose),
    color: colourWanted(options.color, env),
  });
  const dryRun = Boolean(options.dryRun);
  const runner = createRunner({
    env,
    user: environment.invokingUser,
    limaHome: environment.paths.limaHome,
    dryRun,
    report: (line) => out.print(line),
  });
  return { environment, out, host: createHost(environment, runner), dryRun };
}
