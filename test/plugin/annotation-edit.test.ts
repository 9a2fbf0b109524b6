import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { limaReadsTheSame, statementLines } from "../../plugin/annotation-edit-check.js";
import { addStatement, normaliseStatement, removeForward } from "../../plugin/annotation-edit.js";

const BLOCK = `# my VM
cpus: 4   # keep this comment
networks:
  - lima: shared
x-limawan: |
  interface en0     # WAN
  expose ssh 22 as 2222

mounts: []
`;

const LIST = `x-limawan:
  - 'expose ssh 22 as 2222'
  - expose http 80 as 8080
# trailing comment
`;

function ok(result: { ok: boolean; text?: string; reason?: string }): string {
  if (!result.ok) throw new Error(result.reason);
  return result.text!;
}

describe("expose edits the annotation and nothing else", () => {
  it("appends to a literal block with the block's indentation, other bytes unchanged", () => {
    const text = ok(addStatement(BLOCK, "expose http 80 as 8080"));
    expect(text).toBe(BLOCK.replace("  expose ssh 22 as 2222\n", "  expose ssh 22 as 2222\n  expose http 80 as 8080\n"));
  });

  it("appends an item to a list, in the list's layout", () => {
    const text = ok(addStatement(LIST, "expose dns 53/udp as 5353"));
    expect(text).toBe(LIST.replace("  - expose http 80 as 8080\n", '  - expose http 80 as 8080\n  - "expose dns 53/udp as 5353"\n'));
  });

  it("adds a new annotation block at the end of a file without one", () => {
    expect(ok(addStatement("cpus: 2\n", "expose ssh as 2222"))).toBe("cpus: 2\nx-limawan: |\n  expose ssh as 2222\n");
  });

  it("fills an empty x-limawan key, keeping its comment", () => {
    expect(ok(addStatement("x-limawan:  # later\ncpus: 2\n", "expose ssh as 2222"))).toBe("x-limawan: |  # later\n  expose ssh as 2222\ncpus: 2\n");
  });

  it("refuses a flow list or plain string rather than rewriting it", () => {
    expect(addStatement('x-limawan: ["expose ssh as 2222"]\n', "expose http 80 as 8080").ok).toBe(false);
    expect(addStatement("x-limawan: expose ssh as 2222\n", "expose http 80 as 8080").ok).toBe(false);
  });

  it("refuses a statement with a newline (no smuggled second statement)", () => {
    expect(normaliseStatement("http 80 as 8080\nexpose evil 22 as 2222").ok).toBe(false);
    expect(normaliseStatement("http 80 as 8080")).toEqual({ ok: true, text: "expose http 80 as 8080" });
    expect(normaliseStatement("allow privileged")).toEqual({ ok: true, text: "allow privileged" });
  });
});

describe("unexpose removes exactly the statement's line", () => {
  it("from a block", () => {
    expect(ok(removeForward(BLOCK, "lima.yaml", "ssh"))).toBe(BLOCK.replace("  expose ssh 22 as 2222\n", ""));
  });

  it("from a list, by a derived name", () => {
    const list = "x-limawan:\n  - expose 22 as 2222\n  - expose http 80 as 8080\n";
    expect(ok(removeForward(list, "lima.yaml", "tcp-22"))).toBe("x-limawan:\n  - expose http 80 as 8080\n");
  });

  it("says which names exist when the name is unknown", () => {
    const result = removeForward(BLOCK, "lima.yaml", "shh");
    expect(result.ok).toBe(false);
    expect(result.names).toEqual(["ssh"]);
  });
});

describe("expose refuses what would not be plain ASCII", () => {
  // U+0085 is a comment character to the yaml library and a line break to Lima's libyaml reader.
  const SMUGGLED = 'http 80 as 8080 # \u0085mounts: [{location: "/", writable: true}]';

  it("refuses every character outside printable ASCII and tab in a statement", () => {
    for (const character of ["\u0085", "\u2028", "\u2029", "\u009b", "\u007f", "\u001b", "\r", "é"]) {
      expect(normaliseStatement(`http 80 as 8080 # ${character}`)).toEqual({ ok: false, reason: "the statement must be one line of printable ASCII" });
    }
    expect(normaliseStatement(SMUGGLED).ok).toBe(false);
    expect(normaliseStatement("http\t80 as 8080")).toEqual({ ok: true, text: "expose http 80 as 8080" });
  });

  it("checks the edited file as Lima reads it: a line break only libyaml sees is refused", () => {
    // Past normaliseStatement, the second reading still stops it.
    const result = addStatement(BLOCK, `expose ${SMUGGLED}`);
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/^Lima would read the edited file differently outside the annotation/) });
    const before = "cpus: 2\nx-limawan: |\n  expose ssh as 2222\n";
    expect(limaReadsTheSame(before, `${before}  expose http 80 as 8080\n`)).toBeNull();
    for (const lineBreak of ["\u0085", "\u2028", "\u2029", "\r"]) {
      expect(limaReadsTheSame(before, `${before}  expose http 80 as 8080 #${lineBreak}mounts: []\n`)).toMatch(/Lima would read/);
    }
    // Already in the file, and not moved by the edit: Lima reads the rest as it did.
    const odd = "cpus: 2 # \u0085\nx-limawan: |\n  expose ssh as 2222\n";
    expect(limaReadsTheSame(odd, `${odd}  expose http 80 as 8080\n`)).toBeNull();
  });
});

describe("unexpose edits exactly, whatever the form, or refuses", () => {
  const removed = (source: string, name: string) => ok(removeForward(source, "lima.yaml", name));

  it("a one-line flow list: the item and its comma, the other statements kept", () => {
    const flow = 'x-limawan: ["expose ssh as 2222", "expose http 80 as 8080"]\ncpus: 2\n';
    expect(removed(flow, "ssh")).toBe('x-limawan: ["expose http 80 as 8080"]\ncpus: 2\n');
    expect(removed(flow, "http")).toBe('x-limawan: ["expose ssh as 2222"]\ncpus: 2\n');
    expect(removed('cpus: 2\nx-limawan: ["expose ssh as 2222"]\n', "ssh")).toBe("cpus: 2\n");
  });

  it("a flow list of one item a line: the line, with its comment", () => {
    const flow = 'x-limawan: [\n  "expose ssh as 2222",   # ssh\n  "expose http 80 as 8080",  # web\n]\n';
    expect(removed(flow, "http")).toBe('x-limawan: [\n  "expose ssh as 2222",   # ssh\n]\n');
    expect(removed(flow, "ssh")).toBe('x-limawan: [\n  "expose http 80 as 8080",  # web\n]\n');
  });

  it("a quoted string of several statements: written again without the one removed", () => {
    expect(removed('x-limawan: "expose ssh as 2222\\nexpose http 80 as 8080"\ncpus: 2\n', "ssh")).toBe('x-limawan: "expose http 80 as 8080"\ncpus: 2\n');
    expect(removed("x-limawan:\n  - 'expose ssh as 2222\n\n    expose http 80 as 8080'\n  - expose dns 53/udp as 5353\n", "http")).toBe('x-limawan:\n  - "expose ssh as 2222"\n  - expose dns 53/udp as 5353\n');
    expect(removed("x-limawan: expose ssh as 2222\ncpus: 2\n", "ssh")).toBe("cpus: 2\n");
  });

  it("a plain list item over several lines: all of its lines, and nothing of the next statement", () => {
    const list = "x-limawan:\n  - expose ssh\n    as 2222\n  - expose http 80 as 8080\n";
    expect(removed(list, "ssh")).toBe("x-limawan:\n  - expose http 80 as 8080\n");
    expect(removed(list, "http")).toBe("x-limawan:\n  - expose ssh\n    as 2222\n");
  });

  it("a literal block as a list item: its one line, or the item when it is the only one", () => {
    const list = "x-limawan:\n  - |\n    expose ssh as 2222\n    expose http 80 as 8080\n  - expose dns 53/udp as 5353\n";
    expect(removed(list, "http")).toBe("x-limawan:\n  - |\n    expose ssh as 2222\n  - expose dns 53/udp as 5353\n");
    expect(removed("x-limawan:\n  - |\n    expose ssh as 2222\n  - expose dns 53/udp as 5353\n", "ssh")).toBe("x-limawan:\n  - expose dns 53/udp as 5353\n");
  });

  it("an item that is an alias: the item, not the anchored value elsewhere", () => {
    expect(removed("s: &s expose ssh as 2222\nx-limawan:\n  - *s\n  - expose dns 53/udp as 5353\n", "ssh")).toBe("s: &s expose ssh as 2222\nx-limawan:\n  - expose dns 53/udp as 5353\n");
  });

  it("refuses a folded block and an annotation that is an alias", () => {
    expect(removeForward("x-limawan: >\n  expose ssh as 2222\n", "lima.yaml", "ssh")).toMatchObject({ ok: false, reason: expect.stringMatching(/folded block/) });
    expect(removeForward("s: &s |\n  expose ssh as 2222\nx-limawan: *s\n", "lima.yaml", "ssh")).toMatchObject({ ok: false, reason: expect.stringMatching(/alias of another key/) });
  });
});

describe("aliases never crash the editor", () => {
  it("refuses an edit another key would see through an alias", () => {
    const referenced = "x-limawan:\n  - &s expose ssh as 2222\n  - expose http 80 as 8080\nother: *s\n";
    expect(removeForward(referenced, "lima.yaml", "ssh")).toEqual({ ok: false, reason: expect.stringMatching(/alias `\*s` and would change with it/) });
    // Removing or adding another statement leaves `other` as it was.
    expect(ok(removeForward(referenced, "lima.yaml", "http"))).toBe("x-limawan:\n  - &s expose ssh as 2222\nother: *s\n");
    expect(ok(addStatement(referenced, "expose dns 53/udp as 5353"))).toContain('  - "expose dns 53/udp as 5353"\nother: *s\n');
    const whole = "x-limawan: &s |\n  expose ssh as 2222\nother: *s\n";
    expect(addStatement(whole, "expose http 80 as 8080")).toEqual({ ok: false, reason: expect.stringMatching(/alias `\*s`/) });
  });

  it("edits a file with a billion laughs elsewhere without expanding them", () => {
    const laughs = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]", ..."bcdefghi".split("").map((k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(", ")}]`)].join("\n");
    const source = `${laughs}\nx-limawan: |\n  expose ssh as 2222\n`;
    expect(ok(addStatement(source, "expose http 80 as 8080"))).toBe(`${source}  expose http 80 as 8080\n`);
    expect(ok(removeForward(`${source}  expose http 80 as 8080\n`, "lima.yaml", "http"))).toBe(source);
  });

  it("never throws, whatever the file", () => {
    const yamlish = fc
      .array(fc.constantFrom("x-limawan:", " |", " >", "\n", "\r\n", "  ", "- ", '"', "'", "[", "]", "{", "}", ": ", ", ", "&s ", "*s", "!!str ", "---\n", "...\n", "#", "expose ssh as 2222", "expose http 80 as 8080", "other: "), { maxLength: 16 })
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(yamlish, (source) => {
        for (const result of [addStatement(source, "expose dns 53/udp as 5353"), removeForward(source, "lima.yaml", "ssh")]) {
          expect(typeof result.ok).toBe("boolean");
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe("layout", () => {
  const crlfOnly = (text: string) => expect(text.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);

  it("keeps a CRLF file CRLF, whatever the edit", () => {
    const block = "cpus: 2\r\nx-limawan: |\r\n  expose ssh as 2222\r\n";
    expect(ok(addStatement(block, "expose http 80 as 8080"))).toBe(`${block}  expose http 80 as 8080\r\n`);
    expect(ok(addStatement("cpus: 2\r\n", "expose http 80 as 8080"))).toBe("cpus: 2\r\nx-limawan: |\r\n  expose http 80 as 8080\r\n");
    expect(ok(addStatement("x-limawan:\r\ncpus: 2\r\n", "expose http 80 as 8080"))).toBe("x-limawan: |\r\n  expose http 80 as 8080\r\ncpus: 2\r\n");
    const list = ok(addStatement("x-limawan:\r\n  - expose ssh as 2222\r\n", "expose http 80 as 8080"));
    expect(list).toBe('x-limawan:\r\n  - expose ssh as 2222\r\n  - "expose http 80 as 8080"\r\n');
    expect(ok(removeForward(`${block}  expose http 80 as 8080\r\n`, "lima.yaml", "ssh"))).toBe("cpus: 2\r\nx-limawan: |\r\n  expose http 80 as 8080\r\n");
    for (const text of [list, ok(addStatement(block, "expose http 80 as 8080"))]) crlfOnly(text);
  });

  it("adds a new annotation before a final `...` document marker", () => {
    expect(ok(addStatement("cpus: 2\n...\n", "expose ssh as 2222"))).toBe("cpus: 2\nx-limawan: |\n  expose ssh as 2222\n...\n");
    expect(ok(addStatement("cpus: 2\n... # end\n# after\n", "expose ssh as 2222"))).toBe("cpus: 2\nx-limawan: |\n  expose ssh as 2222\n... # end\n# after\n");
    expect(ok(addStatement("cpus: 2\nx-limawan: |\n  expose ssh as 2222\n...\n", "expose http 80 as 8080"))).toBe("cpus: 2\nx-limawan: |\n  expose ssh as 2222\n  expose http 80 as 8080\n...\n");
    expect(ok(removeForward("x-limawan: |\n  expose ssh as 2222\n  expose http 80 as 8080\n...\n", "lima.yaml", "ssh"))).toBe("x-limawan: |\n  expose http 80 as 8080\n...\n");
  });

  it("adds to a file whose last line has no line break", () => {
    expect(ok(addStatement("cpus: 2", "expose ssh as 2222"))).toBe("cpus: 2\nx-limawan: |\n  expose ssh as 2222\n");
  });
});

describe("the layouts Lima itself writes", () => {
  // `limactl edit --set` and `limactl create` (through yq and yamlfmt) write lists in column 0.
  const INDENTLESS = "images:\n- location: /tmp/disk.img\n  arch: x86_64\nnetworks:\n- lima: shared\nx-limawan:\n- expose ssh 22 as 2222\n- expose http 80 as 8080\ncpus: 3\n";

  it("adds an item to an indentless list, in column 0 like the others", () => {
    expect(ok(addStatement(INDENTLESS, "expose dns 53/udp as 5353"))).toBe(INDENTLESS.replace("- expose http 80 as 8080\n", '- expose http 80 as 8080\n- "expose dns 53/udp as 5353"\n'));
  });

  it("removes an item from an indentless list, and the key with its last item", () => {
    const once = ok(removeForward(INDENTLESS, "lima.yaml", "ssh"));
    expect(once).toBe(INDENTLESS.replace("- expose ssh 22 as 2222\n", ""));
    expect(ok(removeForward(once, "lima.yaml", "http"))).toBe(INDENTLESS.replace("x-limawan:\n- expose ssh 22 as 2222\n- expose http 80 as 8080\n", ""));
  });

  it("edits an indentless list in a CRLF file, keeping CRLF", () => {
    const crlf = INDENTLESS.replace(/\n/g, "\r\n");
    expect(ok(addStatement(crlf, "expose dns 53/udp as 5353"))).toBe(crlf.replace("- expose http 80 as 8080\r\n", '- expose http 80 as 8080\r\n- "expose dns 53/udp as 5353"\r\n'));
    expect(ok(removeForward(crlf, "lima.yaml", "http"))).toBe(crlf.replace("- expose http 80 as 8080\r\n", ""));
  });

  it("still refuses a line break only Lima sees, in an indentless list too", () => {
    expect(addStatement(INDENTLESS, "expose http 81 as 8081 #\u0085mounts: []")).toMatchObject({ ok: false, reason: expect.stringMatching(/^Lima would read/) });
    expect(limaReadsTheSame(INDENTLESS, INDENTLESS.replace("- expose http 80 as 8080\n", "- expose http 80 as 8080 #\u2028mounts: []\n"))).toMatch(/Lima would read/);
  });

  it("judges by keys and values, not by indentation", () => {
    // The same keys and values: a statement more in the annotation changes nothing Lima reads.
    expect(limaReadsTheSame(INDENTLESS, INDENTLESS.replace("- expose ssh 22 as 2222\n", ""))).toBeNull();
    // A key's value changed, or a key added outside the annotation: refused.
    expect(limaReadsTheSame(INDENTLESS, INDENTLESS.replace("cpus: 3", "cpus: 4"))).toMatch(/Lima would read/);
    expect(limaReadsTheSame(INDENTLESS, `${INDENTLESS}mounts: []\n`)).toMatch(/Lima would read/);
    // A value Lima would see grow: the item after the annotation's list is a network for Lima.
    expect(limaReadsTheSame(INDENTLESS, INDENTLESS.replace("- lima: shared\n", "- lima: shared\n- lima: host\n"))).toMatch(/Lima would read/);
  });
});

describe("unexpose of the last statement removes the key", () => {
  const removed = (source: string, name: string) => ok(removeForward(source, "lima.yaml", name));

  it("from a block, a list, a flow list and a string alike", () => {
    expect(removed("cpus: 2\nx-limawan: |\n  expose ssh as 2222\nmounts: []\n", "ssh")).toBe("cpus: 2\nmounts: []\n");
    expect(removed("cpus: 2\nx-limawan:  # web\n  - expose ssh as 2222\n", "ssh")).toBe("cpus: 2\n");
    expect(removed("x-limawan: [\n  \"expose ssh as 2222\",\n]\ncpus: 2\n", "ssh")).toBe("cpus: 2\n");
    expect(removed("cpus: 2\r\nx-limawan: |\r\n  expose ssh as 2222\r\n", "ssh")).toBe("cpus: 2\r\n");
    expect(removed("cpus: 2\nx-limawan: |\n  expose ssh as 2222", "ssh")).toBe("cpus: 2\n");
  });

  it("keeps the key when it still holds a comment line, or sits in a flow mapping", () => {
    expect(removed("x-limawan: |\n  # forwards go here\n  expose ssh as 2222\n", "ssh")).toBe("x-limawan: |\n  # forwards go here\n");
    expect(removed('{cpus: 2, x-limawan: ["expose ssh as 2222"]}\n', "ssh")).toBe("{cpus: 2, x-limawan: []}\n");
  });

  it("keeps the lines after the annotation, comments included", () => {
    expect(removed("x-limawan: |\n  expose ssh as 2222\n\n# the rest\ncpus: 2\n", "ssh")).toBe("\n# the rest\ncpus: 2\n");
  });
});

describe("every layout: what expose adds, unexpose takes away", () => {
  // The annotation as each writer lays it out: a block by hand, an indented list by hand, and
  // the indentless list `limactl edit --set` / `limactl create` write; keys before and after it
  // in either layout, LF or CRLF.
  const layouts: Record<string, (statements: string[]) => string> = {
    block: (s) => `x-limawan: |\n${s.map((x) => `  ${x}\n`).join("")}`,
    indented: (s) => `x-limawan:\n${s.map((x) => `  - ${x}\n`).join("")}`,
    indentless: (s) => `x-limawan:\n${s.map((x) => `- ${x}\n`).join("")}`,
  };
  const before = ["", "cpus: 2\n", "networks:\n- lima: shared\n"];
  const after = ["", "memory: 4GiB\n", "mounts:\n  - location: \"~\"\n", "mounts:\n- location: \"~\"\n"];
  const arbFile = fc.record({
    layout: fc.constantFrom(...Object.keys(layouts)),
    ports: fc.uniqueArray(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 4 }),
    before: fc.constantFrom(...before),
    after: fc.constantFrom(...after),
    crlf: fc.boolean(),
  });
  const build = (f: { layout: string; ports: number[]; before: string; after: string; crlf: boolean }, ports = f.ports) => {
    const text = ports.length === 0 ? f.before + f.after : f.before + layouts[f.layout]!(ports.map((p) => `expose p${p} ${p} as ${p + 10000}`)) + f.after;
    return f.crlf ? text.replace(/\n/g, "\r\n") : text;
  };

  it("adding a statement and removing it again gives back the file, byte for byte", () => {
    fc.assert(
      fc.property(arbFile, (f) => {
        const file = build(f);
        const added = ok(addStatement(file, "expose extra 9999 as 19999"));
        expect(statementLines(added)).toEqual([...statementLines(file), "expose extra 9999 as 19999"]);
        expect(ok(removeForward(added, "lima.yaml", "extra"))).toBe(file);
      }),
      { numRuns: 100 },
    );
  });

  it("removing every statement, one by one, leaves the file without the key", () => {
    fc.assert(
      fc.property(arbFile, (f) => {
        let text = build(f);
        f.ports.forEach((port, i) => {
          text = ok(removeForward(text, "lima.yaml", `p${port}`));
          expect(text).toBe(build(f, f.ports.slice(i + 1)));
        });
      }),
      { numRuns: 100 },
    );
  });
});
