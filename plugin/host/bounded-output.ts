// What LimaWAN reads from the programs it runs, within bounds. A guest answers through `limactl
// shell` with whatever it likes, and a string past V8's limit (ERR_STRING_TOO_LONG, about 512
// MiB) or a heap filled with output crashes the process — root's `up`, or the watch daemon,
// which launchd then restarts into the same crash. So bytes are kept up to a limit, decoded once
// at the end, and a stream read line by line holds at most one line of bounded length.

/** Per stream (stdout, stderr) of a program run to completion, and per line of a followed stream. */
export const OUTPUT_LIMIT_BYTES = 1024 * 1024;

/** The bytes of one output stream, up to `limit`: `add` says false once they would pass it, and keeps nothing more. */
export class BoundedBytes {
  private chunks: Buffer[] = [];
  private size = 0;
  exceeded = false;

  constructor(readonly limit: number) {}

  add(chunk: Buffer): boolean {
    if (this.exceeded) return false;
    if (this.size + chunk.length > this.limit) {
      this.exceeded = true;
      this.chunks = [];
      this.size = 0;
      return false;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  /** The text, decoded once (UTF-8, as the tools print it). */
  text(): string {
    return Buffer.concat(this.chunks, this.size).toString("utf8");
  }
}

/**
 * A byte stream split into lines (`\n`; a `\r` before it stays, JSON ignores it), each decoded
 * once. `add` gives the lines a chunk completes, or null once a line grows past `limit` bytes
 * (the stream is then beyond reading: nothing more is kept).
 */
export class BoundedLines {
  private pending: Buffer[] = [];
  private pendingSize = 0;
  exceeded = false;

  constructor(readonly limit: number) {}

  add(chunk: Buffer): string[] | null {
    if (this.exceeded) return null;
    const lines: string[] = [];
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end >= 0; end = chunk.indexOf(0x0a, start)) {
      if (!this.keep(chunk.subarray(start, end))) return null;
      lines.push(Buffer.concat(this.pending, this.pendingSize).toString("utf8"));
      this.pending = [];
      this.pendingSize = 0;
      start = end + 1;
    }
    return this.keep(chunk.subarray(start)) ? lines : null;
  }

  private keep(part: Buffer): boolean {
    if (this.pendingSize + part.length > this.limit) {
      this.exceeded = true;
      this.pending = [];
      this.pendingSize = 0;
      return false;
    }
    if (part.length > 0) this.pending.push(part);
    this.pendingSize += part.length;
    return true;
  }
}

/** `1 MiB`, `64 MiB`, `512 KiB`: a limit as messages say it. */
export function formatLimit(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}
