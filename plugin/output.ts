// The one logger: data to stdout (text or --json), messages to stderr, colours only when
// stderr/stdout is a terminal and neither --no-color nor NO_COLOR says otherwise. Messages
// carry file names, arguments and tools' output: their control characters are escaped.
import pc from "picocolors";
import { countDiagnostics, sortDiagnostics, type Diagnostic } from "../compiler/diagnostic.js";
import { printableJson, printableLines } from "../compiler/printable.js";
import { renderDiagnostics, type Paint } from "../compiler/render-diagnostics.js";

export interface OutputOptions { json: boolean; quiet: boolean; verbose: boolean; color: boolean }

export class Output {
  readonly paint: Paint;
  private readonly colours: ReturnType<typeof pc.createColors>;

  constructor(
    readonly options: OutputOptions,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {
    this.colours = pc.createColors(options.color);
    const c = this.colours;
    this.paint = { error: (s) => c.red(c.bold(s)), warning: (s) => c.yellow(c.bold(s)), dim: c.dim, bold: c.bold };
  }

  get c(): ReturnType<typeof pc.createColors> {
    return this.colours;
  }

  /** Primary output (rules, tables). */
  print(text: string): void {
    this.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }

  /** Machine-readable output for --json. */
  json(value: unknown): void {
    this.stdout.write(`${printableJson(JSON.stringify(value, null, 2))}\n`);
  }

  info(message: string): void {
    if (!this.options.quiet) this.stderr.write(`${printableLines(message)}\n`);
  }

  verbose(message: string): void {
    if (this.options.verbose) this.stderr.write(`${this.colours.dim(printableLines(message))}\n`);
  }

  warn(message: string): void {
    this.stderr.write(`${this.colours.yellow("warning:")} ${printableLines(message)}\n`);
  }

  error(message: string, hint?: string, detail?: string): void {
    this.stderr.write(`${this.colours.red(this.colours.bold("error:"))} ${printableLines(message)}\n`);
    if (detail) this.stderr.write(`${printableLines(detail.trimEnd())}\n`);
    if (hint) this.stderr.write(`${this.colours.dim(`hint: ${printableLines(hint)}`)}\n`);
  }

  /**
   * Diagnostics for people: code frames from `sources` (file → text; a file missing there gets
   * no frame), the first 50 of each file and how many more, then a count of them all. With
   * --json they travel in the command's JSON instead.
   */
  diagnostics(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, string>): void {
    if (diagnostics.length === 0 || this.options.json) return;
    this.stderr.write(`${renderDiagnostics(sortDiagnostics(diagnostics), sources, this.paint)}\n`);
    const { errors, warnings } = countDiagnostics(diagnostics);
    const summary = [errors ? `${errors.toLocaleString("en-US")} error(s)` : "", warnings ? `${warnings.toLocaleString("en-US")} warning(s)` : ""].filter(Boolean).join(", ");
    this.stderr.write(`\n${summary}\n`);
  }

  /** Progress that rewrites itself on a terminal and is silent elsewhere. */
  progress(message: string): void {
    if (this.options.quiet || this.options.json) return;
    const stream = this.stderr as NodeJS.WriteStream;
    if (stream.isTTY) stream.write(`\r\x1b[2K${printableLines(message)}`);
  }

  endProgress(): void {
    const stream = this.stderr as NodeJS.WriteStream;
    if (stream.isTTY && !this.options.quiet && !this.options.json) stream.write("\r\x1b[2K");
  }
}

export function colourWanted(flag: boolean | undefined, env: NodeJS.ProcessEnv, stream: NodeJS.WriteStream = process.stderr): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  return Boolean(stream.isTTY);
}
