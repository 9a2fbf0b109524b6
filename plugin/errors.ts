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

/**
 * What went wrong, as a code callers switch on (never a regex over the message, which is for
 * people and changes): `needs-root` — root would have been allowed (a read or a change of
 * root's); `state-damaged` — LimaWAN's state file does not read back as a state.
 */
export type ErrorReason = "needs-root" | "state-damaged";

export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    readonly hint?: string,
    /** Extra text shown verbatim (e.g. pfctl's own stderr). */
    readonly detail?: string,
    /** Diagnostics behind the error, rendered with code frames from `sources` where known. */
    readonly diagnostics: { items: readonly Diagnostic[]; sources: ReadonlyMap<string, string> } | null = null,
    readonly reason: ErrorReason | null = null,
  ) {
    super(message);
  }
}

/**
 * Whether a read failed for want of root, so that root (`--sudo`) would have made it: what the
 * adapters code `needs-root`. A missing program, a damaged state file or any other failure is
 * not, and is reported as itself.
 */
export function failedForWantOfRoot(error: unknown, isRoot: boolean): boolean {
  return !isRoot && isReason(error, "needs-root");
}

export function isReason(error: unknown, reason: ErrorReason): error is CliError {
  return error instanceof CliError && error.reason === reason;
}

/** A permission error of the file system (as Node reports it): root would have been allowed. */
export function isPermissionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "EACCES" || code === "EPERM";
}
