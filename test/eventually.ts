// Waiting, in a test, for what another process does: `check` is polled every `pollMs` until it
// holds, and the test fails naming what it waited for once `timeoutMs` have passed. One helper
// for every file that waits (each keeps its own timeout and poll interval).
export type Check = () => boolean | Promise<boolean>;

export async function eventually(check: Check, what: string, { timeoutMs = 20_000, pollMs = 100 }: { timeoutMs?: number; pollMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`timed out waiting for: ${what}`);
}
