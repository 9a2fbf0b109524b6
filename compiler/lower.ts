// Syntax tree → VmDraft. Resolves what the grammar leaves implicit (guest port from a
// well-known name, a derived name, the protocol) and reports structural mistakes: unknown
// statements and options, repeated options, conflicting protocols. Value checks (ranges,
// addresses, names) are the validators' job.
import type { ExposeNode, NumberToken, OptionNode, PortSpecNode, StatementNode, WordToken } from "./ast.js";
import { CODES, DiagnosticSink, type Span } from "./diagnostic.js";
import type { ForwardDraft, Located, PortRange, Protocol, RouterMapping, VmDraft, VmStatements } from "./ir.js";
import { SERVICES } from "./services.js";
import { didYouMean } from "./suggest.js";
import { excerpt } from "./printable.js";

const STATEMENTS = ["expose", "interface", "allow"];
const OPTIONS = ["from", "on", "limit", "max", "log", "router"];
const SECONDS_PER_UNIT = { s: 1, m: 60, h: 3600 } as const;

/** The whole draft at once: for printing it back (`expose`, `unexpose`) and for tests. */
export function lower(vm: string, file: string, statements: Iterable<StatementNode>, sink: DiagnosticSink): VmDraft {
  const forwards: ForwardDraft[] = [];
  const vmWide = lowerStatements(statements, sink, (forward) => forwards.push(forward));
  return { vm, file, ...vmWide, forwards };
}

/**
 * Lower statements one at a time, handing each forward to `onForward` as soon as it is read,
 * and return the VM-wide statements. The compiler validates each forward as it comes and keeps
 * no draft: at 10,000 forwards, holding every draft until the end made each young-generation
 * collection copy them, the largest part of compile time that grew faster than the input.
 */
export function lowerStatements(statements: Iterable<StatementNode>, sink: DiagnosticSink, onForward: (forward: ForwardDraft) => void): VmStatements {
  const vmWide: VmStatements = { interfaces: null, allowFrom: null, allowPrivileged: false, allowRouted: false };
  for (const statement of statements) {
    switch (statement.kind) {
      case "expose": {
        const forward = lowerExpose(statement, sink);
        if (forward) onForward(forward);
        break;
      }
      case "interface":
        if (vmWide.interfaces) duplicateStatement(sink, statement.span, "interface");
        else vmWide.interfaces = statement.names.map(located);
        break;
      case "allow-from":
        if (vmWide.allowFrom) duplicateStatement(sink, statement.span, "allow from");
        else vmWide.allowFrom = statement.sources.map(located);
        break;
      case "allow-privileged":
        vmWide.allowPrivileged = true;
        break;
      case "allow-routed":
        vmWide.allowRouted = true;
        break;
      case "unknown": {
        const at = wordSpan(statement.span, statement.word);
        // Past the listed diagnostics only counted: the suggestion is the costly part.
        if (!sink.listing) sink.count("error", at);
        else sink.error(CODES.UNKNOWN_STATEMENT, at, `unknown statement \`${excerpt(statement.word)}\``, didYouMean(statement.word, STATEMENTS));
        break;
      }
    }
  }
  return vmWide;
}

function lowerExpose(node: ExposeNode, sink: DiagnosticSink): ForwardDraft | null {
  // Own keys only: `constructor` or `toString` is no service, whatever Object.prototype says.
  const service = node.name && Object.hasOwn(SERVICES, node.name.text) ? SERVICES[node.name.text] : undefined;
  let guest: Located<PortRange>;
  if (node.guest) {
    guest = { value: range(node.guest), at: node.guest.span };
  } else if (node.name && service) {
    guest = { value: { first: service.port, last: service.port }, at: node.name.span };
  } else if (node.name) {
    sink.error(
      CODES.UNKNOWN_SERVICE,
      node.name.span,
      `\`${node.name.text}\` is not a well-known service, so the guest port is unknown`,
      `Give the guest port (\`expose ${node.name.text} 8080 as 8080\`). ${didYouMean(node.name.text, Object.keys(SERVICES))}`,
    );
    return null;
  } else {
    sink.error(
      CODES.MISSING_GUEST_PORT,
      node.span,
      "expose needs a guest port or a well-known service name",
      "Write `expose NAME GUEST as HOST`, e.g. `expose web 80 as 8080` or `expose ssh as 2222`.",
    );
    return null;
  }

  const protocol = resolveProtocol(node, service?.protocol, sink);
  const options = lowerOptions(node.options, sink);
  const name = node.name
    ? { value: node.name.text, at: node.name.span }
    : { value: `${protocol.replace("+", "-")}-${formatPorts(guest.value)}`, at: node.span };

  return {
    name,
    derivedName: !node.name,
    protocol,
    guest,
    host: { value: range(node.host), at: node.host.span },
    ...options,
    at: node.span,
  };
}

function resolveProtocol(node: ExposeNode, implied: Protocol | undefined, sink: DiagnosticSink): Protocol {
  const onGuest = node.guest?.protocol;
  const onHost = node.host.protocol;
  if (onGuest && onHost && onGuest.text !== onHost.text) {
    sink.error(
      CODES.PROTOCOL_CONFLICT,
      onHost.span,
      `guest port says ${onGuest.text} but host port says ${onHost.text}`,
      "A forward keeps its protocol: write it once, on either side.",
    );
  }
  return onGuest?.text ?? onHost?.text ?? implied ?? "tcp";
}

type LoweredOptions = Pick<ForwardDraft, "from" | "on" | "limit" | "max" | "log" | "router">;

function lowerOptions(options: readonly OptionNode[], sink: DiagnosticSink): LoweredOptions {
  const out: LoweredOptions = { from: null, on: null, limit: null, max: null, log: false, router: null };
  const seen = new Set<string>();
  for (const option of options) {
    if (option.kind === "unknown-option") {
      sink.error(
        CODES.UNKNOWN_OPTION,
        wordSpan(option.span, option.word),
        `unknown option \`${excerpt(option.word)}\``,
        didYouMean(option.word, OPTIONS),
      );
      continue;
    }
    if (option.kind === "upnp") {
      strayUpnp(option.span, out.router?.value ?? null, sink);
      continue;
    }
    if (seen.has(option.kind)) {
      sink.error(
        CODES.DUPLICATE_OPTION,
        option.span,
        `option \`${option.kind}\` is given twice`,
        option.kind === "from" || option.kind === "on"
          ? "List several values once, separated by commas."
          : option.kind === "router"
            ? "Keep one: `router upnp` if UPnP may be used, else `router`."
            : "Keep one.",
      );
      continue;
    }
    seen.add(option.kind);
    switch (option.kind) {
      case "from":
        out.from = option.sources.map(located);
        break;
      case "on":
        out.on = option.names.map(located);
        break;
      case "limit": {
        const { amount, unit, span } = option.seconds;
        if (!Object.hasOwn(SECONDS_PER_UNIT, unit)) {
          sink.error(
            CODES.LIMIT_VALUE,
            span,
            `\`${excerpt(unit)}\` is not a unit of time here`,
            `Write the period in seconds, minutes or hours: \`${amount.text}s\`, \`${amount.text}m\` or \`${amount.text}h\`.`,
          );
          break;
        }
        out.limit = {
          count: number(option.count),
          seconds: { value: amount.value * SECONDS_PER_UNIT[unit as keyof typeof SECONDS_PER_UNIT], at: span },
        };
        break;
      }
      case "max":
        out.max = number(option.count);
        break;
      case "log":
        out.log = true;
        break;
      case "router":
        out.router = { value: { upnp: option.upnp }, at: option.span };
        break;
    }
  }
  return out;
}

/** `upnp` qualifies `router` and is read with it (grammar: `router upnp`); alone it means nothing. */
function strayUpnp(at: Span, router: RouterMapping | null, sink: DiagnosticSink): void {
  if (router?.upnp) {
    sink.error(CODES.DUPLICATE_OPTION, at, "option `upnp` is given twice", "Keep one: `router upnp`.");
    return;
  }
  sink.error(
    CODES.UPNP_WITHOUT_ROUTER,
    at,
    "`upnp` on its own means nothing: it says how `router` may map the port",
    router
      ? "Write it right after `router`: `router upnp`."
      : "Write `router upnp` to have the router map this port, by UPnP too when PCP and NAT-PMP get no answer.",
  );
}

function range(spec: PortSpecNode): PortRange {
  return { first: spec.from.value, last: (spec.to ?? spec.from).value };
}

function formatPorts(r: PortRange): string {
  return r.first === r.last ? String(r.first) : `${r.first}-${r.last}`;
}

function located(token: WordToken): Located<string> {
  return { value: token.text, at: token.span };
}

function number(token: NumberToken): Located<number> {
  return { value: token.value, at: token.span };
}

function wordSpan(span: Span, word: string): Span {
  // Written out whole, not spread from `span`: a spread object is a slow one, and a 1 MiB block has 262,000 of these.
  return { line: span.line, column: span.column, endLine: span.line, endColumn: span.column + word.length };
}

function duplicateStatement(sink: DiagnosticSink, at: Span, what: string): void {
  sink.error(CODES.DUPLICATE_STATEMENT, at, `\`${what}\` is given twice`, "List several values in one statement, separated by commas.");
}
