// The front half of the pipeline for one file: text → annotation → AST → draft → spec.
// Pure: the caller reads the file and passes what it knows about the other VMs.
import { isDeepStrictEqual } from "node:util";
import { CODES, DiagnosticSink, MAX_DIAGNOSTICS_PER_FILE, type Diagnostic } from "./diagnostic.js";
import { ANNOTATION_KEY, extractAnnotation } from "./extract.js";
import type { Forward, VmDraft, VmSpec } from "./ir.js";
import { lower, lowerStatements } from "./lower.js";
import { parseAnnotation } from "./parse.js";
import { printSpec } from "./print-dsl.js";
import { excerpt, printable } from "./printable.js";
import { isStackOverflow, stackProblem } from "./read-yaml.js";
import { specClashes, validateClashes } from "./validate/clashes.js";
import { reportPfNameCollisions } from "./validate/pf-names.js";
import { DEFAULT_POLICY, VmValidator, type HostClaim, type Policy } from "./validate/index.js";

export interface SourceFile { vm: string; file: string; text: string }

export interface FileResult {
  vm: string;
  file: string;
  /** The file has an x-limawan key. */
  annotated: boolean;
  /** Present only when the file has no errors. */
  spec: VmSpec | null;
  /** The spec on its own: present when every error is a clash with another VM's host port. */
  standalone: VmSpec | null;
  diagnostics: Diagnostic[];
}

/** Parse and lower one file into a whole draft, without validating it (for `expose`, `unexpose`, tests). */
export function readAnnotation(source: SourceFile): { annotated: boolean; draft: VmDraft | null; sink: DiagnosticSink } {
  try {
    return readAnnotationOrThrow(source);
  } catch (error) {
    return { annotated: false, draft: null, sink: stackExhausted(source, error) };
  }
}

function readAnnotationOrThrow(source: SourceFile): { annotated: boolean; draft: VmDraft | null; sink: DiagnosticSink } {
  const sink = new DiagnosticSink(source.file);
  const annotation = extractAnnotation(source.text, sink);
  if (!annotation.present) return { annotated: false, draft: null, sink };
  const statements = parseAnnotation(annotation.lines, sink);
  return { annotated: true, draft: lower(source.vm, source.file, statements, sink), sink };
}

/** One file, checked against the VMs already accepted: each forward is validated as it is read. */
export function compileFile(source: SourceFile, others: readonly VmSpec[] = [], policy: Policy = DEFAULT_POLICY): FileResult {
  // The try is in the outermost frame: a stack that runs out on the way in is caught too.
  try {
    return compileFileOrThrow(source, others, policy).result;
  } catch (error) {
    return stackExhaustedResult(source, error).result;
  }
}

/** A file compiled on its own, with the host ports it claims: what a check against other VMs needs. */
export interface OwnResult { result: FileResult; claims: readonly HostClaim[] }

/** compileFile(source) without other VMs, keeping its claims for `againstOthers`. */
export function compileOwn(source: SourceFile, policy: Policy = DEFAULT_POLICY): OwnResult {
  try {
    return compileFileOrThrow(source, [], policy);
  } catch (error) {
    return stackExhaustedResult(source, error);
  }
}

/**
 * compileFile(source, others) from the file's own result, without reading it again: others only
 * add clash errors after everything else (VmValidator.finish). Null where that would not be
 * exact — the clashes would run past the listed diagnostics — and the caller compiles it whole.
 */
export function againstOthers(own: OwnResult, others: readonly VmSpec[]): FileResult | null {
  const { result, claims } = own;
  if (others.length === 0 || claims.length === 0) return result;
  const sink = new DiagnosticSink(result.file);
  if (validateClashes(claims, others, sink).size === 0) return result;
  const clashes = sink.items;
  if (result.diagnostics.length + clashes.length > MAX_DIAGNOSTICS_PER_FILE) return null;
  return { ...result, spec: null, diagnostics: [...result.diagnostics, ...clashes] };
}

function stackExhaustedResult(source: SourceFile, error: unknown): OwnResult {
  const sink = stackExhausted(source, error);
  return { result: { vm: source.vm, file: source.file, annotated: false, spec: null, standalone: null, diagnostics: sink.items }, claims: [] };
}

/**
 * Input-bounded limits (read-yaml.ts) keep the recursion shallow, but a caller deep in its own
 * stack can still run out: that is a diagnostic too, never an exception out of the compiler.
 */
function stackExhausted(source: SourceFile, error: unknown): DiagnosticSink {
  if (!isStackOverflow(error)) throw error;
  const sink = new DiagnosticSink(source.file);
  const problem = stackProblem();
  sink.error(problem.code, problem.at, problem.message, problem.hint);
  return sink;
}

function compileFileOrThrow(source: SourceFile, others: readonly VmSpec[], policy: Policy): OwnResult {
  const sink = new DiagnosticSink(source.file);
  const annotation = extractAnnotation(source.text, sink);
  let result: { spec: VmSpec | null; standalone: VmSpec | null; claims: readonly HostClaim[] } = { spec: null, standalone: null, claims: [] };
  // An annotation that could not all be read (a folded block, a non-string item) has no
  // standalone spec: the validator counts only the errors made after it starts.
  const unreadable = sink.hasErrors;
  if (annotation.present) {
    const validator = new VmValidator(source.vm, source.file, others, sink, policy);
    const vmWide = lowerStatements(parseAnnotation(annotation.lines, sink), sink, (forward) => validator.add(forward));
    result = validator.finish(vmWide);
  }
  const clean = !sink.hasErrors;
  return {
    result: {
      vm: source.vm,
      file: source.file,
      annotated: annotation.present,
      spec: clean ? result.spec : null,
      standalone: unreadable ? null : result.standalone,
      diagnostics: sink.items,
    },
    claims: result.claims,
  };
}

export interface CompileSetOptions {
  /** VMs that keep their ports without being read again (applied, not re-read). */
  kept?: readonly VmSpec[];
  /**
   * For each source, the spec it had when last applied, if any: it holds that VM's ports until
   * the source itself is read, so an edit of an earlier file cannot take them.
   */
  held?: readonly (VmSpec | null)[];
  /**
   * A source with errors keeps its held spec (its last valid rules), as long as they clash with
   * nothing accepted before it: the watcher does not drop a VM's forwards over a typo.
   */
  keepLastValid?: boolean;
  /**
   * Whether a valid source claims its ports against the sources after it (default). Without
   * claims each source is checked against `kept` alone: what conflicts with the loaded rules.
   */
  claims?: boolean;
  policy?: Policy;
  /** How each file is compiled against the others (the watcher's reuses unchanged files: compile-cache.ts). */
  compileFile?: CompileOne;
}

export type CompileOne = (source: SourceFile, others: readonly VmSpec[], policy?: Policy) => FileResult;

export interface SetResult extends FileResult {
  /** The held spec standing in for this file's errors (keepLastValid), or null. */
  lastValid: VmSpec | null;
}

/**
 * Several VMs together: each is checked against the kept VMs, the held ones not read yet and
 * the ones accepted before it, so a host port claimed twice is reported on the later VM, naming
 * the earlier one, and so are PF names two VMs would share (the set is what one anchor load
 * installs). Callers order the sources by precedence (applied VMs first). A VM is never checked
 * against its own earlier rules.
 */
export function compileFiles(sources: readonly SourceFile[], options: CompileSetOptions = {}): SetResult[] {
  const accepted: VmSpec[] = [...(options.kept ?? [])];
  const held = options.held ?? [];
  const claims = options.claims ?? true;
  const fileOfVm = new Map<string, string>();
  return sources.map((source, index) => {
    const first = fileOfVm.get(source.vm);
    if (first !== undefined) return { ...sameVmTwice(source, first), lastValid: null };
    fileOfVm.set(source.vm, source.file);
    const others = [...accepted, ...held.slice(index + 1).filter((spec): spec is VmSpec => spec !== null && spec !== undefined)].filter((spec) => spec.vm !== source.vm);
    let result: FileResult = (options.compileFile ?? compileFile)(source, others, options.policy);
    if (result.spec && claims) {
      const collisions = reportPfNameCollisions([...others, result.spec]).filter((d) => d.file === source.file);
      if (collisions.length > 0) result = { ...result, spec: null, diagnostics: [...result.diagnostics, ...collisions] };
    }
    // Last valid rules stand only against what was accepted before them (held VMs read later
    // are checked against them in turn).
    const previous = held[index] ?? null;
    const lastValid = !result.spec && options.keepLastValid && result.annotated && previous && !specClashes(previous, accepted.filter((spec) => spec.vm !== source.vm)) ? previous : null;
    const spec = result.spec ?? lastValid;
    if (spec && claims) accepted.push(spec);
    return { ...result, lastValid };
  });
}

/** A second file for a VM already read: its rules would be emitted twice, under the same PF names. */
function sameVmTwice(source: SourceFile, first: string): FileResult {
  const result = compileFile(source);
  const sink = new DiagnosticSink(source.file);
  sink.error(
    CODES.DUPLICATE_VM,
    { line: 1, column: 1, endLine: 1, endColumn: 2 },
    `VM \`${excerpt(source.vm, 60)}\` is already read from ${printable(first)}`,
    "A VM has one lima.yaml: leave one of the files out, or name this file's VM apart (`--name`, for one plain file).",
  );
  return { ...result, spec: null, standalone: null, diagnostics: [...sink.items, ...result.diagnostics] };
}

/**
 * A spec that did not come straight from the compiler (read back from the state file) is
 * trusted only if its statements compile back to exactly it: the same validators as fresh
 * input, so a hand-edited record cannot carry what an annotation could not.
 */
export function recheckSpec(spec: VmSpec): VmSpec | null {
  if (typeof spec.vm !== "string" || typeof spec.file !== "string" || !Array.isArray(spec.forwards)) return null;
  let statements: string[];
  try {
    statements = printSpec(spec);
  } catch {
    return null; // not shaped like a spec at all
  }
  // One statement a line, each a double-quoted YAML string: nothing in a value can break out.
  const text = `${ANNOTATION_KEY}:\n${statements.map((s) => `  - ${JSON.stringify(s)}\n`).join("")}`;
  const result = compileFile({ vm: spec.vm, file: spec.file, text });
  if (!result.spec || result.spec.forwards.length !== spec.forwards.length) return null;
  const same = result.spec.forwards.every((f, i) => {
    const { line: _a, ...fresh } = f;
    // A record written before the `router` option existed has no such key: it meant no mapping.
    const { line: _b, ...stored }: Partial<Forward> = spec.forwards[i]!;
    return isDeepStrictEqual(fresh, { router: null, ...stored });
  });
  if (!same) return null;
  const forwards = result.spec.forwards.map((f, i) => ({ ...f, line: spec.forwards[i]!.line }));
  return { ...spec, vm: result.spec.vm, allowRouted: result.spec.allowRouted, forwards };
}
