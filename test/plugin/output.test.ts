// What reaches the terminal through Output: any text, whatever it holds, with its control
// characters escaped, and Output's own colours the only escape sequences — which no text from
// outside can forge, since they are written as a marker only this process knows.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Output } from "../../plugin/output.js";

function captured(color: boolean): { out: Output; stdout: () => string; stderr: () => string } {
  let stdout = "";
  let stderr = "";
  const stream = (append: (s: string) => void) => ({ write: (s: string) => (append(s), true) }) as unknown as NodeJS.WritableStream;
  const out = new Output({ json: false, quiet: false, verbose: true, color }, stream((s) => (stdout += s)), stream((s) => (stderr += s)));
  return { out, stdout: () => stdout, stderr: () => stderr };
}

const TITLE_AND_CLEAR = "\u001b]0;pwned\u0007\u001b[2J";
/** SGR sequences Output writes for its colours: the only escape sequences allowed out. */
const OWN_SGR = /\u001b\[(?:1|2|22|31|32|33|39)m/g;

describe("Output", () => {
  it("prints data with every control character escaped but line breaks and tabs", () => {
    const { out, stdout } = captured(false);
    out.print(`listens on ${TITLE_AND_CLEAR}:80\n\tnext line\r\u009b\u202e`);
    expect(stdout()).toBe("listens on \\x1b]0;pwned\\x07\\x1b[2J:80\n\tnext line\\x0d\\x9b\\u202e\n");
  });

  it("escapes messages, hints and details on stderr too", () => {
    const { out, stderr } = captured(false);
    out.error(`bad ${TITLE_AND_CLEAR}`, `hint ${TITLE_AND_CLEAR}`, `detail ${TITLE_AND_CLEAR}`);
    out.warn(TITLE_AND_CLEAR);
    out.info(TITLE_AND_CLEAR);
    out.verbose(TITLE_AND_CLEAR);
    expect(stderr()).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(stderr().split("\\x1b]0;pwned\\x07\\x1b[2J")).toHaveLength(7);
  });

  it("writes its own colours as SGR around text it escaped, nested colours included", () => {
    const { out, stdout } = captured(true);
    const c = out.c;
    out.print(`${c.green("PASS")} ${c.dim(`fix: ${c.bold("now")} ${TITLE_AND_CLEAR}`)}`);
    expect(stdout()).toBe("\u001b[32mPASS\u001b[39m \u001b[2mfix: \u001b[1mnow\u001b[22m\u001b[2m \\x1b]0;pwned\\x07\\x1b[2J\u001b[22m\n");
  });

  it("lets no text from outside become an escape sequence, its own colour sequences included", () => {
    const { out, stdout } = captured(true);
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("\u001b", "[", "2", "J", "m", "\u{F8FF}", "a", "\n", "\u0007", "\u009b") }), (text) => {
        const before = stdout().length;
        out.print(out.c.red(text));
        const written = stdout().slice(before);
        // What is left once Output's own two sequences are taken away holds no control character.
        expect(written.replace(OWN_SGR, "")).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
        expect(written.startsWith("\u001b[31m") && written.endsWith("\u001b[39m\n")).toBe(true);
      }),
    );
  });
});
