// A fact read from the host, or why it could not be — the coded reason, not only the message —
// so that a deciding function tells "root would have read it" from "the file is damaged" or "the
// tool is missing" without reading the text. What doctor, diagnose and status gather.
import { CliError, reasonOf, type ErrorReason } from "../errors.js";

/** `hint`: what the error said to do, where it said. */
export type Unread = { ok: false; reason: string; code: ErrorReason; hint?: string };
export type Reading<T> = { ok: true; value: T } | Unread;

/** Why a read failed: its message, and its code (`needs-root` only where root would have read it). */
export function unread(error: unknown, isRoot: boolean): Unread {
  const code = reasonOf(error);
  const hint = error instanceof CliError ? error.hint : undefined;
  return { ok: false, reason: error instanceof Error ? error.message : String(error), code: isRoot && code === "needs-root" ? "environment" : code, ...(hint ? { hint } : {}) };
}

/** A read, or why it failed: never thrown, so every fact gets judged. */
export async function attempt<T>(fn: () => Promise<T>, isRoot: boolean): Promise<Reading<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return unread(error, isRoot);
  }
}
