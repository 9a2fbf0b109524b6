// lima.yaml text → a yaml Document, within limits that keep reading it bounded and safe: a
// size cap, a nesting cap checked before the (recursive) parser runs, and duplicate keys found
// in linear time. Nothing here throws for any input: every limit is a problem with a position.
import { isAlias, isMap, isScalar, isSeq, Lexer, LineCounter, parseDocument, visit, type Alias, type Document, type Node } from "yaml";
import { CODES, type DiagnosticCode, type Span } from "./diagnostic.js";
import { printable } from "./printable.js";
import { elideRuns, restoreRuns } from "./yaml-runs.js";

/** Larger files are refused unread. Lima's own templates are a few kilobytes. */
export const MAX_FILE_BYTES = 1024 * 1024;

/**
 * Deeper nesting is refused before parsing. The yaml library recurses once per level (about
 * 1 KB of stack each): on a fresh stack it overflows near 1,100 levels, and LimaWAN runs it
 * deeper inside the engine, so the limit keeps it far from that. Lima's files nest < 10.
 */
export const MAX_NESTING = 100;

export interface YamlProblem { code: DiagnosticCode; at: Span; message: string; hint: string }

export interface ReadYaml {
  /** Null when the text was refused before parsing. */
  doc: Document.Parsed | null;
  lineCounter: LineCounter;
  problems: YamlProblem[];
}

export const YAML_HINT = "Fix the YAML first (limactl would refuse this file too).";
export const NESTING_HINT = `LimaWAN reads YAML nested up to ${MAX_NESTING} levels deep; this is LimaWAN's own limit (Lima accepts deeper files), so flatten the nesting.`;
const START: Span = { line: 1, column: 1, endLine: 1, endColumn: 2 };

export interface ReadOptions {
  /**
   * Read long runs of one-line list items from the text (yaml-runs.ts): the compile, which
   * reads the document and never writes it back. Edits of the file parse it whole.
   */
  elideRuns?: boolean;
}

export function readYaml(source: string, options: ReadOptions = {}): ReadYaml {
  const lineCounter = new LineCounter();
  const size = source.length > MAX_FILE_BYTES ? source.length : Buffer.byteLength(source, "utf8");
  if (size > MAX_FILE_BYTES) {
    return {
      doc: null,
      lineCounter,
      problems: [{
        code: CODES.FILE_TOO_LARGE,
        at: START,
        message: `lima.yaml is ${size.toLocaleString("en-US")} bytes; LimaWAN reads files up to ${MAX_FILE_BYTES.toLocaleString("en-US")} bytes (1 MiB)`,
        hint: "This is LimaWAN's own limit; a lima.yaml this large is almost certainly not what Lima was meant to read.",
      }],
    };
  }
  const deep = nestingBeyond(source, MAX_NESTING);
  if (deep) {
    return {
      doc: null,
      lineCounter,
      problems: [{ code: CODES.NESTING_TOO_DEEP, at: deep, message: `lima.yaml nests more than ${MAX_NESTING} levels deep here`, hint: NESTING_HINT }],
    };
  }
  try {
    // uniqueKeys compares each key with every earlier key of its mapping (quadratic: 40,000
    // keys took 10 s); duplicateKeys below does the same check with one Set per mapping.
    const doc = parse(source, lineCounter, options.elideRuns ?? false);
    const spanOf = spanIn(lineCounter);
    const problems: YamlProblem[] = doc.errors.map((error) =>
      // The library turns a stack overflow while composing into an error of its own.
      error.code === "RESOURCE_EXHAUSTION"
        ? { code: CODES.NESTING_TOO_DEEP, at: spanOf(error.pos[0], error.pos[1]), message: "lima.yaml nests too deeply for LimaWAN to read", hint: NESTING_HINT }
        : { code: CODES.YAML_SYNTAX, at: spanOf(error.pos[0], error.pos[1]), message: `lima.yaml is not valid YAML: ${printable(firstLine(error.message))}`, hint: YAML_HINT },
    );
    for (const offset of duplicateKeys(doc)) {
      problems.push({ code: CODES.YAML_SYNTAX, at: spanOf(offset, offset + 1), message: "lima.yaml is not valid YAML: Map keys must be unique", hint: YAML_HINT });
    }
    problems.sort((a, b) => a.at.line - b.at.line || a.at.column - b.at.column);
    return { doc, lineCounter, problems };
  } catch (error) {
    // Only reachable when the caller's own stack was nearly spent: still a diagnostic.
    if (!isStackOverflow(error)) throw error;
    return { doc: null, lineCounter, problems: [stackProblem()] };
  }
}

function parse(source: string, lineCounter: LineCounter, elide: boolean): Document.Parsed {
  const options = { prettyErrors: false, uniqueKeys: false } as const;
  const elided = elide ? elideRuns(source) : null;
  if (elided) {
    const parsedLines = new LineCounter();
    const doc = parseDocument(elided.text, { ...options, lineCounter: parsedLines });
    if (restoreRuns(doc, elided, parsedLines, lineCounter)) return doc;
    lineCounter.lineStarts.length = 0; // a run was not read as items: the whole text, as it is
  }
  return parseDocument(source, { ...options, lineCounter });
}

/** Offsets in the text read → line/column spans (1-based), through the reading's LineCounter. */
export function spanIn(lineCounter: LineCounter): (start: number, end: number) => Span {
  return (start, end) => {
    const a = lineCounter.linePos(start);
    const b = lineCounter.linePos(Math.max(start, end));
    return { line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  };
}

export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

export function stackProblem(): YamlProblem {
  return { code: CODES.NESTING_TOO_DEEP, at: START, message: "lima.yaml nests too deeply for LimaWAN to read here", hint: NESTING_HINT };
}

/**
 * Resolves aliases as Alias.resolve does (the last node before the alias with its anchor), from
 * one walk of the document for all of them: Alias.resolve walks it again for every alias, and a
 * list of 8,000 aliases took 10 s to read.
 */
export function aliasResolver(doc: Document.Parsed): (alias: Alias) => Node | undefined {
  let resolved: Map<Alias, Node | undefined> | null = null;
  return (alias) => {
    if (resolved === null) {
      const found = new Map<Alias, Node | undefined>();
      const latest = new Map<string, Node>();
      visit(doc, {
        Node(_, node) {
          if (isAlias(node)) found.set(node, latest.get(node.source));
          else if (node.anchor) latest.set(node.anchor, node);
        },
      });
      resolved = found;
    }
    return resolved.get(alias);
  };
}

/** Offsets of keys that repeat an earlier scalar key of the same mapping (as yaml's uniqueKeys). */
function duplicateKeys(doc: Document.Parsed): number[] {
  const offsets: number[] = [];
  const pending: unknown[] = [doc.contents];
  while (pending.length > 0) {
    const node = pending.pop();
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        pending.push(pair.key, pair.value);
        if (!isScalar(pair.key)) continue; // other keys are equal only to themselves
        if (seen.has(pair.key.value)) offsets.push(pair.key.range?.[0] ?? 0);
        else seen.add(pair.key.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) pending.push(item); // not push(...items): a list may be longer than an argument list
    }
  }
  return offsets.sort((a, b) => a - b);
}

/**
 * Where nesting first goes deeper than `limit`, or null. Reads the yaml library's lexer (a
 * loop, not recursion), so scalars, comments and block text never count as structure: a
 * block collection opens at each `-`, `?` or key in a new column, a flow one at `[` or `{`.
 */
export function nestingBeyond(source: string, limit: number): Span | null {
  if (nestingBound(source) <= limit) return null; // the common case, without lexing
  const blocks: { indent: number; kind: "seq" | "map" }[] = [];
  let flow = 0;
  let line = 1;
  let column = 0; // 0-based, of the next token
  let nodeColumn = -1; // where the current block node started on this line, -1 before it
  let scalarNext = false;
  const open = (indent: number, kind: "seq" | "map"): boolean => {
    // A sequence may sit at its parent mapping's indentation (`key:\n- item`); a key there ends it.
    while (blocks.length > 0) {
      const top = blocks[blocks.length - 1]!;
      if (top.indent > indent || (top.indent === indent && top.kind === "seq" && kind === "map")) blocks.pop();
      else break;
    }
    const top = blocks[blocks.length - 1];
    if (!top || top.indent !== indent || top.kind !== kind) blocks.push({ indent, kind });
    return blocks.length + flow > limit;
  };
  for (const token of new Lexer().lex(source)) {
    const at = column;
    let deeper = false;
    if (scalarNext) {
      scalarNext = false; // the scalar's own text, whatever it contains
    } else if (token === "\x02" || token === "---" || token === "...") {
      blocks.length = 0;
      flow = 0;
      if (token === "\x02") continue; // a marker: a document starts
    } else if (token === "\x1f") {
      scalarNext = true;
      if (nodeColumn < 0) nodeColumn = at;
      continue; // a marker, not source text
    } else if (token === "\x18") {
      continue;
    } else if (token === "[" || token === "{") {
      if (nodeColumn < 0) nodeColumn = at;
      flow += 1;
      deeper = blocks.length + flow > limit;
    } else if (token === "]" || token === "}") {
      flow = Math.max(0, flow - 1);
    } else if (flow === 0 && (token === "-" || token === "?")) {
      deeper = open(at, token === "-" ? "seq" : "map");
      nodeColumn = -1;
    } else if (flow === 0 && token === ":") {
      deeper = open(nodeColumn < 0 ? at : nodeColumn, "map");
      nodeColumn = -1;
    } else if (nodeColumn < 0 && /^['"&!*]/.test(token)) {
      nodeColumn = at;
    }
    if (deeper) return { line, column: at + 1, endLine: line, endColumn: at + 1 + token.length };
    const newline = token.lastIndexOf("\n");
    if (newline < 0) {
      column += token.length;
    } else {
      for (let i = token.indexOf("\n"); i >= 0; i = token.indexOf("\n", i + 1)) line += 1;
      column = token.length - newline - 1;
      if (/^\r?\n$/.test(token)) nodeColumn = -1;
    }
  }
  return null;
}

/**
 * An upper bound on how deep `source` nests, from its characters alone (one pass, no lexing: a
 * 1 MiB list of 170,000 items is lexed by the parser anyway, and lexing it twice was a third of
 * its compile). A block collection holding a node begins either on an earlier line, at a column
 * no deeper than the node's line is indented — at most two a column, a sequence at its key's
 * own column being the one that shares it — or on the node's own line, opened there by one of
 * `- ? :` (or a flow collection's `[ {`). Flow collections nest at most as deep as there are
 * `[` and `{` in the text. Scalars, comments and block text only count more than there is.
 */
export function nestingBound(source: string): number {
  let flowOpeners = 0;
  let deepestLine = 0;
  let indent = 0;
  let indicators = 0;
  let atIndent = true;
  for (let i = 0; i <= source.length; i++) {
    const c = i < source.length ? source.charCodeAt(i) : 10;
    if (c === 10) {
      deepestLine = Math.max(deepestLine, 2 * (indent + 1) + indicators);
      indent = 0;
      indicators = 0;
      atIndent = true;
      continue;
    }
    if (atIndent && (c === 32 || c === 9)) {
      indent++; // a tab is no indentation in YAML: counted as one, the bound only grows
      continue;
    }
    atIndent = false;
    if (c === 91 || c === 123) flowOpeners++; // [ {
    if (c === 45 || c === 63 || c === 58 || c === 91 || c === 123) indicators++; // - ? : [ {
  }
  return deepestLine + flowOpeners;
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.trim();
}
