// The anchor text's identity in the state file: what was loaded, to skip identical reloads and
// to tell whether a text rendered again is the one loaded.
import { crypto } from "../host/lazy-builtins.js";
import type { AnchorText } from "../../compiler/emit-pf.js";

export function hashAnchor(text: AnchorText | string): string {
  return crypto().createHash("sha256").update(text).digest("hex");
}
