// fast-check arbitraries shared by the property tests.
//  - arbitraryForwardStatement: one valid `expose` statement (DSL text)
//  - arbitraryAnnotation: a valid annotation (statements with unique names and host ports)
//  - arbitraryDslNoise: strings made of DSL keywords, numbers and punctuation (for "never throws")
import fc from "fast-check";

// `as` cannot be a name: the grammar reads it as the keyword (`expose as 8080`).
const names = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/).filter((n) => n !== "as");
const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));
const cidr = fc.oneof(ipv4, fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`));
const iface = fc.constantFrom("en0", "en1", "en7", "bridge100", "utun3");

export interface ForwardShape {
  name: string;
  guest: number;
  length: number;
  protocol: "tcp" | "udp" | "tcp+udp";
  from: string[] | null;
  on: string[] | null;
  limit: [number, number] | null;
  max: number | null;
  log: boolean;
}

const forwardShape: fc.Arbitrary<ForwardShape> = fc
  .record({
    name: names,
    guest: fc.integer({ min: 1, max: 60_000 }),
    length: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 20 })),
    protocol: fc.constantFrom("tcp" as const, "udp" as const, "tcp+udp" as const),
    from: fc.option(fc.uniqueArray(cidr, { minLength: 1, maxLength: 3 }), { nil: null }),
    on: fc.option(fc.uniqueArray(iface, { minLength: 1, maxLength: 2 }), { nil: null }),
    limit: fc.option(fc.tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 3600 })), { nil: null }),
    max: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: null }),
    log: fc.boolean(),
  })
  // limit/max count TCP connections; on UDP-only forwards they are errors, not valid input.
  .map((f) => (f.protocol === "tcp" ? f : { ...f, limit: null, max: null }));

export function statementOf(f: ForwardShape, host: number): string {
  const range = (first: number) => (f.length === 1 ? String(first) : `${first}-${first + f.length - 1}`);
  const parts = ["expose", f.name, `${range(f.guest)}/${f.protocol}`, "as", range(host)];
  if (f.from) parts.push("from", f.from.join(", "));
  if (f.on) parts.push("on", f.on.join(", "));
  if (f.limit) parts.push("limit", `${f.limit[0]}/${f.limit[1]}s`);
  if (f.max) parts.push("max", String(f.max));
  if (f.log) parts.push("log");
  return parts.join(" ");
}

/** Valid statements: unique names, host ports laid out without overlap from `base`. */
export function arbitraryAnnotation(base = 10_000, maxForwards = 8): fc.Arbitrary<{ shapes: ForwardShape[]; hosts: number[]; statements: string[] }> {
  return fc.uniqueArray(forwardShape, { minLength: 1, maxLength: maxForwards, selector: (f) => f.name }).map((shapes) => {
    const hosts: number[] = [];
    let next = base;
    for (const f of shapes) {
      hosts.push(next);
      next += f.length + 1;
    }
    return { shapes, hosts, statements: shapes.map((f, i) => statementOf(f, hosts[i]!)) };
  });
}

export const arbitraryForwardStatement = forwardShape.map((f) => statementOf(f, 20_000));

export const arbitraryDslNoise: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.constantFrom("expose", "as", "from", "on", "limit", "max", "log", "interface", "allow", "privileged", "any", "tcp", "udp", "tcp+udp", "rdr-to", "#", ",", "/", "-", ":", "\t", " ", "\n", "|", "\"", "'", "{", "}", "<", ">", "\\"),
      fc.integer({ min: 0, max: 99_999 }).map(String),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 24 },
  )
  .map((parts) => parts.join(" "));

export const arbitraryVmAddress = ipv4.filter((a) => !a.startsWith("0."));
