// Diagnostics are data: built where a problem is found, rendered in one place
// (compiler/render-diagnostics.ts). Positions are always in the user's lima.yaml.

export type Severity = "error" | "warning";

/** 1-based line and column in the annotated file, end exclusive. */
export interface Span {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  hint: string;
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** LW008 only: the problems found past MAX_DIAGNOSTICS_PER_FILE, counted but not listed. */
  omitted?: { errors: number; warnings: number };
}

/**
 * Diagnostics listed per file. Past it problems are counted, not listed: a 1 MiB file of bad
 * lines has some 260,000, and each listed one costs memory (the watch daemon keeps them while it
 * reports), bytes of --json and time to build (a bad line is parsed again alone for Peggy's
 * message). One LW008 at the end says how many were left out.
 */
export const MAX_DIAGNOSTICS_PER_FILE = 1000;

/**
 * Stable codes. Never renumber: scripts and users match on them (`check --json`).
 * LW0xx file and syntax, LW1xx ports, LW2xx addresses, LW3xx names, LW4xx interfaces,
 * LW5xx clashes between VMs, LW6xx connection limits, LW7xx PF output, LW8xx router mapping.
 */
export const CODES = {
  YAML_SYNTAX: "LW001",
  ANNOTATION_TYPE: "LW002",
  LINE_TOO_LONG: "LW003",
  FOLDED_SCALAR: "LW004",
  FILE_TOO_LARGE: "LW005",
  NESTING_TOO_DEEP: "LW006",
  NOT_PLAIN_ASCII: "LW007",
  TOO_MANY_DIAGNOSTICS: "LW008",
  SYNTAX: "LW010",
  UNKNOWN_STATEMENT: "LW011",
  UNKNOWN_OPTION: "LW012",
  DUPLICATE_OPTION: "LW013",
  DUPLICATE_STATEMENT: "LW014",
  PORT_RANGE: "LW101",
  REVERSED_RANGE: "LW102",
  RANGE_LENGTH: "LW103",
  HOST_PORT_OVERLAP: "LW104",
  PRIVILEGED_PORT: "LW105",
  PROTOCOL_CONFLICT: "LW106",
  MISSING_GUEST_PORT: "LW107",
  INVALID_ADDRESS: "LW201",
  IPV6_UNSUPPORTED: "LW202",
  HOST_BITS_SET: "LW203",
  ANY_IN_LIST: "LW204",
  INVALID_NAME: "LW301",
  DUPLICATE_NAME: "LW302",
  UNKNOWN_SERVICE: "LW303",
  INVALID_VM_NAME: "LW304",
  INVALID_INTERFACE: "LW401",
  CLAIMED_BY_OTHER_VM: "LW501",
  DUPLICATE_VM: "LW502",
  LIMIT_NOT_TCP: "LW601",
  LIMIT_VALUE: "LW602",
  LIMIT_TCP_PART_ONLY: "LW603",
  NAME_COLLISION: "LW701",
  UPNP_WITHOUT_ROUTER: "LW801",
  ROUTER_RANGE_TOO_LONG: "LW802",
} as const;

export type DiagnosticCode = (typeof CODES)[keyof typeof CODES];

/**
 * Collects diagnostics for one file; validators push, nothing throws for user mistakes. The
 * first MAX_DIAGNOSTICS_PER_FILE are listed; the rest are counted, and `items` ends with one LW008
 * saying how many (at the first of them).
 */
export class DiagnosticSink {
  private readonly listed: Diagnostic[] = [];
  private errors = 0;
  private readonly omitted = { errors: 0, warnings: 0, first: null as Span | null };

  constructor(readonly file: string) {}

  error(code: DiagnosticCode, at: Span, message: string, hint: string): void {
    this.push("error", code, at, message, hint);
  }

  warning(code: DiagnosticCode, at: Span, message: string, hint: string): void {
    this.push("warning", code, at, message, hint);
  }

  /**
   * Whether a problem reported now is listed, so worth its message. When not, a caller whose
   * message is costly to build reports it with `count` instead.
   */
  get listing(): boolean {
    return this.listed.length < MAX_DIAGNOSTICS_PER_FILE;
  }

  /** A problem past the list, whose message is not worth building: counted only. */
  count(severity: Severity, at: Span): void {
    if (severity === "error") this.errors++;
    this.omitted[severity === "error" ? "errors" : "warnings"]++;
    this.omitted.first ??= at;
  }

  get hasErrors(): boolean {
    return this.errors > 0;
  }

  /** Errors found so far, listed or not. */
  get errorCount(): number {
    return this.errors;
  }

  /** The listed diagnostics, then one LW008 for those past the list. */
  get items(): Diagnostic[] {
    const { errors, warnings, first } = this.omitted;
    if (first === null) return [...this.listed];
    const total = errors + warnings;
    const counts = [errors ? `${errors.toLocaleString("en-US")} error(s)` : "", warnings ? `${warnings.toLocaleString("en-US")} warning(s)` : ""].filter(Boolean).join(", ");
    return [
      ...this.listed,
      {
        code: CODES.TOO_MANY_DIAGNOSTICS,
        severity: errors > 0 ? "error" : "warning",
        message: `${total.toLocaleString("en-US")} more problem(s) in this file are not listed, the first of them here (${counts})`,
        hint: `LimaWAN lists the first ${MAX_DIAGNOSTICS_PER_FILE.toLocaleString("en-US")} problems of a file: fix those, and check it again.`,
        file: this.file,
        ...first,
        omitted: { errors, warnings },
      },
    ];
  }

  private push(severity: Severity, code: DiagnosticCode, at: Span, message: string, hint: string): void {
    if (!this.listing) return this.count(severity, at);
    if (severity === "error") this.errors++;
    this.listed.push({ code, severity, message, hint, file: this.file, ...at });
  }
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Errors and warnings found, those an LW008 counts without listing included. */
export function countDiagnostics(diagnostics: readonly Diagnostic[]): { errors: number; warnings: number } {
  let errors = 0;
  let warnings = 0;
  for (const d of diagnostics) {
    if (d.omitted) {
      errors += d.omitted.errors;
      warnings += d.omitted.warnings;
    } else if (d.severity === "error") errors++;
    else warnings++;
  }
  return { errors, warnings };
}

/** Stable order for output: file, then position, then code. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.code.localeCompare(b.code),
  );
}
