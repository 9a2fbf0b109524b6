// Every file LimaWAN writes is written atomically (write-file-atomic: a temporary file in the
// same directory, fsync, rename), so a crash never leaves half a file. Loaded on first use:
// most commands write nothing.
import type { Options } from "write-file-atomic";

export async function writeAtomic(file: string, text: string, options: Options): Promise<void> {
  const { default: writeFileAtomic } = await import("write-file-atomic");
  await writeFileAtomic(file, text, options);
}
