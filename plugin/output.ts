// The one logger: data to stdout (text or --json), messages to stderr, colours only when
// stderr/stdout is a terminal and neither --no-color nor NO_COLOR says otherwise. Whatever is
// written is made printable at the last moment (compiler/printable.ts): rules, diagnose's and
// status's lines, harden's diffs and dry-run plans carry text from guests, files and other
// programs, and an `ss` line holding `\e]0;…\a\e[2J` must not retitle or clear the terminal.
// The one escape sequence that reaches the terminal is Output's own colour, written by its
// colour functions as a marker this process alone knows and turned into ESC [ after escaping.
import { countDiagnostics, sortDiagnostics, type Diagnostic } from "../compiler/diagnostic.js";
import { printableJson, printableLines } from "../compiler/printable.js";
import { renderDiagnostics, type Paint } from "../compiler/render-diagnostics.js";
import { crypto } from "./host/lazy-builtins.js";

export interface OutputOptions { json: boolean; quiet: boolean; verbose: boolean; color: boolean }

/** ECMA-48 SGR parameters: each style's on and off. */
const STYLES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39] } as const;
export type Colours = Record<keyof typeof STYLES, (s: string) => string>;

/**
 * The styles, each opening and closing with `introducer` + SGR + "m" (null: no colour). A style
 * ended inside the text (bold and dim share their off) is opened again after it.
 */
function colours(introducer: string | null): Colours {
  const style = ([on, off]: readonly [number, number]) => {
    if (introducer === null) return (s: string) => s;
    const open = `${introducer}${on}m`;
    const close = `${introducer}${off}m`;
    return (s: string) => `${open}${s.split(close).join(close + open)}${close}`;
  };
  return { bold: style(STYLES.bold), dim: style(STYLES.dim), red: style(STYLES.red), green: style(STYLES.green), yellow: style(STYLES.yellow) };
}

export class Output {
  readonly paint: Paint;
  private readonly colours: Colours;
  /** What the colour functions write where ESC [ goes: random, so no text from outside can hold it. */
  private readonly introducer: string | null;

  constructor(
    readonly options: OutputOptions,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {
    this.introducer = options.color ? `\u{F8FF}${crypto().randomBytes(12).toString("hex")}\u{F8FF}` : null;
    this.colours = colours(this.introducer);
    const c = this.colours;
    this.paint = { error: (s) => c.red(c.bold(s)), warning: (s) => c.yellow(c.bold(s)), dim: c.dim, bold: c.bold };
  }

  get c(): Colours {
    return this.colours;
  }

  /** Text as the terminal gets it: every control character escaped, then Output's own colours made real. */
  private terminal(text: string): string {
    const escaped = printableLines(text);
    return this.introducer === null ? escaped : escaped.split(this.introducer).join("\x1b[");
  }

  /** Primary output (rules, tables, reports), escaped: it carries guests', files' and programs' text. */
  print(text: string): void {
    this.stdout.write(this.terminal(text.endsWith("\n") ? text : `${text}\n`));
  }

  /** Machine-readable output for --json. */
  json(value: unknown): void {
    this.stdout.write(`${printableJson(JSON.stringify(value, null, 2))}\n`);
  }

  info(message: string): void {
    if (!this.options.quiet) this.stderr.write(this.terminal(`${message}\n`));
  }

  verbose(message: string): void {
    if (this.options.verbose) this.stderr.write(this.terminal(`${this.colours.dim(message)}\n`));
  }

  warn(message: string): void {
    this.stderr.write(this.terminal(`${this.colours.yellow("warning:")} ${message}\n`));
  }

  error(message: string, hint?: string, detail?: string): void {
    this.stderr.write(this.terminal(`${this.colours.red(this.colours.bold("error:"))} ${message}\n`));
    if (detail) this.stderr.write(this.terminal(`${detail.trimEnd()}\n`));
    if (hint) this.stderr.write(this.terminal(`${this.colours.dim(`hint: ${hint}`)}\n`));
  }

  /**
   * Diagnostics for people: code frames from `sources` (file → text; a file missing there gets
   * no frame), the first 50 of each file and how many more, then a count of them all. With
   * --json they travel in the command's JSON instead.
   */
  diagnostics(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, string>): void {
    if (diagnostics.length === 0 || this.options.json) return;
    this.stderr.write(this.terminal(`${renderDiagnostics(sortDiagnostics(diagnostics), sources, this.paint)}\n`));
    const { errors, warnings } = countDiagnostics(diagnostics);
    const summary = [errors ? `${errors.toLocaleString("en-US")} error(s)` : "", warnings ? `${warnings.toLocaleString("en-US")} warning(s)` : ""].filter(Boolean).join(", ");
    this.stderr.write(`\n${summary}\n`);
  }

  /** Progress that rewrites itself on a terminal and is silent elsewhere. */
  progress(message: string): void {
    if (this.options.quiet || this.options.json) return;
    const stream = this.stderr as NodeJS.WriteStream;
    if (stream.isTTY) stream.write(`\r\x1b[2K${this.terminal(message)}`);
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
