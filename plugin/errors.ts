// One error type for the CLI: a message for people, a hint for what to do, and the exit
// code of the command contract (docs/DESIGN.md "Command-line contract").
import type { Diagnostic } from "../compiler/diagnostic.js";

export const EXIT = {
  OK: 0,
  /** Diagnostics, VM not running, a check failed. */
  FAILURE: 1,
  USAGE: 2,
  /** Not macOS, not root, a tool missing. */
  ENVIRONMENT: 3,
  /** A host command failed; nothing was changed. */
  HOST_COMMAND: 4,
  /** A LimaWAN bug (sysexits' EX_SOFTWARE): none of the above, which all mean something to the user. */
  INTERNAL: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    readonly hint?: string,
    /** Extra text shown verbatim (e.g. pfctl's own stderr). */
    readonly detail?: string,
    /** Diagnostics behind the error, rendered with code frames from `sources` where known. */
    readonly diagnostics: { items: readonly Diagnostic[]; sources: ReadonlyMap<string, string> } | null = null,
  ) {
    super(message);
  }
}

/**
 * Whether a read failed for want of root, so that root (`--sudo`) would have made it: the
 * adapters' "needs root" refusals and permission errors. A missing program or any other failure
 * is not, and is reported as itself.
 */
export function failedForWantOfRoot(error: unknown, isRoot: boolean): boolean {
  return !isRoot && error instanceof CliError && error.exitCode === EXIT.ENVIRONMENT && /needs root|permission denied|EACCES|EPERM/i.test(error.message);
}
