// Text from lima.yaml, file names or arguments, made safe to show on a terminal: control
// characters are written as escapes, so nothing a user did not type can set the terminal's
// title, move its cursor, hide what follows (`interface \e]0;TITLE\a…`) or reorder it.

// DEL, C1, the Unicode line and paragraph separators, bidirectional formatting characters; and C0.
const BEYOND_C0 = "\\u007f-\\u009f\\u2028\\u2029\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069";
const CONTROL = new RegExp(`[\\u0000-\\u001f${BEYOND_C0}]`, "g");
const CONTROL_BUT_LAYOUT = new RegExp(`[\\u0000-\\u0008\\u000b-\\u001f${BEYOND_C0}]`, "g");
const CONTROL_IN_JSON = new RegExp(`[${BEYOND_C0}]`, "g");

function escape(character: string): string {
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** One line of text with every control character escaped (tab and newline too). */
export function printable(text: string): string {
  return text.replace(CONTROL, escape);
}

/** Text of several lines: newlines and tabs stay, every other control character is escaped. */
export function printableLines(text: string): string {
  return text.replace(CONTROL_BUT_LAYOUT, escape);
}

/** JSON text with the controls JSON.stringify leaves raw written as \\u escapes (inside strings, the same value). */
export function printableJson(json: string): string {
  return json.replace(CONTROL_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A user's value inside a message: at most `max` characters, then "…", controls escaped. */
export function excerpt(text: string, max = 40): string {
  return printable(text.length > max ? `${text.slice(0, max)}…` : text);
}
