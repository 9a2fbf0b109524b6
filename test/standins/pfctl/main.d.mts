// Types for what the tests use of the pfctl stand-in (main.mjs): one call run in-process, as
// the stand-in server runs it (lib/call.mjs describes a call).
export interface PfctlCall {
  argv: string[];
  env: Record<string, string | undefined>;
  euid: number | null;
  pid: number;
  cwd: string;
  stdin: () => string;
  stdout: string;
  stderr: string;
}
export function main(call: PfctlCall): number;
