// The front half of the pipeline for one file: text → annotation → AST → draft → spec.
// Pure: the caller reads the file and passes what it knows about the other VMs.
import { DiagnosticSink, type Diagnostic } from "./diagnostic.js";
import { extractAnnotation } from "./extract.js";
import type { VmDraft, VmSpec } from "./ir.js";
import { lower, lowerStatements } from "./lower.js";
import { parseAnnotation } from "./parse.js";
import { DEFAULT_POLICY, VmValidator, type Policy } from "./validate/index.js";

export interface SourceFile { vm: string; file: string; text: string }

export interface FileResult {
  vm: string;
  file: string;
  /** The file has an x-limawan key. */
  annotated: boolean;
  /** Present only when the file has no errors. */
  spec: VmSpec | null;
  diagnostics: Diagnostic[];
}

/** Parse and lower one file into a whole draft, without validating it (for `expose`, `unexpose`, tests). */
export function readAnnotation(source: SourceFile): { annotated: boolean; draft: VmDraft | null; sink: DiagnosticSink } {
  const sink = new DiagnosticSink(source.file);
  const annotation = extractAnnotation(source.text, sink);
  if (!annotation.present) return { annotated: false, draft: null, sink };
  const statements = parseAnnotation(annotation.lines, sink);
  return { annotated: true, draft: lower(source.vm, source.file, statements, sink), sink };
}

/** One file, checked against the VMs already accepted: each forward is validated as it is read. */
export function compileFile(source: SourceFile, others: readonly VmSpec[] = [], policy: Policy = DEFAULT_POLICY): FileResult {
  const sink = new DiagnosticSink(source.file);
  const annotation = extractAnnotation(source.text, sink);
  let spec: VmSpec | null = null;
  if (annotation.present) {
    const validator = new VmValidator(source.vm, source.file, others, sink, policy);
    const vmWide = lowerStatements(parseAnnotation(annotation.lines, sink), sink, (forward) => validator.add(forward));
    spec = validator.finish(vmWide);
  }
  return { vm: source.vm, file: source.file, annotated: annotation.present, spec: sink.hasErrors ? null : spec, diagnostics: sink.items };
}

/**
 * Several VMs together: each is checked against the ones before it, so a host port claimed
 * twice is reported on the later VM, naming the earlier one. Callers order the sources by
 * precedence (already-applied VMs first).
 */
export function compileFiles(sources: readonly SourceFile[], policy: Policy = DEFAULT_POLICY): FileResult[] {
  const accepted: VmSpec[] = [];
  return sources.map((source) => {
    const result = compileFile(source, accepted, policy);
    if (result.spec) accepted.push(result.spec);
    return result;
  });
}
