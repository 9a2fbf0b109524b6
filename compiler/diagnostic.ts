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
}

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

/** Collects diagnostics for one file; validators push, nothing throws for user mistakes. */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  constructor(readonly file: string) {}

  error(code: DiagnosticCode, at: Span, message: string, hint: string): void {
    this.push("error", code, at, message, hint);
  }

  warning(code: DiagnosticCode, at: Span, message: string, hint: string): void {
    this.push("warning", code, at, message, hint);
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === "error");
  }

  private push(severity: Severity, code: DiagnosticCode, at: Span, message: string, hint: string): void {
    this.items.push({ code, severity, message, hint, file: this.file, ...at });
  }
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Stable order for output: file, then position, then code. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.code.localeCompare(b.code),
  );
}
