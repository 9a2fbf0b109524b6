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
 * What went wrong, as a code callers switch on — never a regex over the message, which is for
 * people and changes. Each is given where the error is made; an error made without one gets its
 * exit code's (`usage`, `refused`, `environment`, `host-command`, `internal`).
 */
export type ErrorReason =
  /** A command line LimaWAN does not take (exit 2). */
  | "usage"
  /** Root would have been allowed: a read or a change of root's, made as a user. */
  | "needs-root"
  /** LimaWAN's state file does not read back as a state. */
  | "state-damaged"
  /** A program LimaWAN runs is not where it must be (limactl on PATH, a macOS tool, sudo). */
  | "tool-missing"
  /** The platform is not macOS. */
  | "not-macos"
  /** An address PF must never redirect to (a VM's lease or guest report that fails the policy). */
  | "address-refused"
  /** A name Lima does not know. */
  | "no-such-instance"
  /** Lima cannot read an instance's lima.yaml. */
  | "lima-cannot-read"
  /** An instance that is not running, or has no address (yet), or no vmnet network. */
  | "vm-unavailable"
  /** A program LimaWAN ran failed or printed what it cannot use. */
  | "host-command"
  /** A program printed more than LimaWAN reads, and was stopped. */
  | "output-too-large"
  /** Another limawan command holds the state lock. */
  | "lock-held"
  /** A path root would act on, or run, is not root's alone (or is a link). */
  | "unsafe-path"
  /** A user-facing refusal or failure none of the above names (exit 1). */
  | "refused"
  /** The environment is not as a command needs it (exit 3), none of the above. */
  | "environment"
  /** A LimaWAN bug. */
  | "internal";

const REASON_OF_EXIT: Record<ExitCode, ErrorReason> = {
  [EXIT.OK]: "internal",
  [EXIT.FAILURE]: "refused",
  [EXIT.USAGE]: "usage",
  [EXIT.ENVIRONMENT]: "environment",
  [EXIT.HOST_COMMAND]: "host-command",
  [EXIT.INTERNAL]: "internal",
};

export class CliError extends Error {
  readonly reason: ErrorReason;

  constructor(
    readonly exitCode: ExitCode,
    message: string,
    readonly hint?: string,
    /** Extra text shown verbatim (e.g. pfctl's own stderr). */
    readonly detail?: string,
    /** Diagnostics behind the error, rendered with code frames from `sources` where known. */
    readonly diagnostics: { items: readonly Diagnostic[]; sources: ReadonlyMap<string, string> } | null = null,
    reason: ErrorReason | null = null,
  ) {
    super(message);
    this.reason = reason ?? REASON_OF_EXIT[exitCode];
  }
}

/** The reason of any thrown value: a CliError's own, else `internal` (not one LimaWAN made). */
export function reasonOf(error: unknown): ErrorReason {
  return error instanceof CliError ? error.reason : "internal";
}

export function isReason(error: unknown, reason: ErrorReason): error is CliError {
  return error instanceof CliError && error.reason === reason;
}

/** A permission error of the file system (as Node reports it): root would have been allowed. */
export function isPermissionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "EACCES" || code === "EPERM";
}
