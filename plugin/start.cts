// How LimaWAN starts: plugin/bin/limactl-limawan and the root-owned copy's launcher both run
// this file's build, dist/limactl-limawan/start.cjs. It compiles the one-file bundle (main.cjs)
// with the V8 code cache the build made beside it (main.cjs.cache), then runs it. Node 20 has no
// compile cache of its own (module.enableCompileCache is 22.1+), and compiling the bundle's code
// was most of a start: `status` took 2.1-2.2x `node -e 0` without it (npm run bench).
//
// The cache is code, like the bundle, and is trusted as the bundle is: it is read only from the
// directory this file is in, built with the bundle, copied with it by `install`, never written at
// run time. V8 refuses a cache from another V8 version or flags, or for a source of another
// length, and then compiles as usual; the build's ID, the bundle's first line, guards the rest.
import { readFileSync } from "node:fs";
import Module from "node:module";
import path from "node:path";
import vm from "node:vm";

export const BUNDLE = "main.cjs";
export const CACHE = "main.cjs.cache";
/** The bundle's first line: `// limawan-build ` and its ID, a hash of the bundle (scripts/build.mjs). */
export const BUILD_ID_PREFIX = "// limawan-build ";

export interface LoadedBundle {
  main(argv: string[]): Promise<number>;
  /** The compiled bundle: the build makes the cache from it. */
  script: vm.Script;
  cacheUsed: boolean;
}

export function loadBundle(dir: string = __dirname, options: { cache?: boolean } = {}): LoadedBundle {
  const file = path.join(dir, BUNDLE);
  let source: string;
  try {
    source = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`LimaWAN's bundle ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}): run \`npm run build\` in LimaWAN's checkout`);
  }
  const cachedData = options.cache === false ? undefined : cacheFor(dir, source);
  const script = new vm.Script(Module.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  // Run as Node runs a CommonJS module: (exports, require, module, __filename, __dirname).
  const bundle = { exports: {} as { main(argv: string[]): Promise<number> } };
  script.runInThisContext()(bundle.exports, Module.createRequire(file), bundle, file, dir);
  return { main: bundle.exports.main, script, cacheUsed: cachedData !== undefined && !script.cachedDataRejected };
}

/** The cache's V8 data when its first line names the bundle's build; else none (compile as usual). */
function cacheFor(dir: string, source: string): Buffer | undefined {
  let cache: Buffer;
  try {
    cache = readFileSync(path.join(dir, CACHE));
  } catch {
    return undefined;
  }
  const header = `${buildId(source)}\n`;
  return header.length > 1 && cache.toString("latin1", 0, header.length) === header ? cache.subarray(header.length) : undefined;
}

/** The build ID on the bundle's first line, or "" when there is none. */
export function buildId(source: string): string {
  const end = source.indexOf("\n");
  const first = end < 0 ? source : source.slice(0, end);
  return first.startsWith(BUILD_ID_PREFIX) ? first.slice(BUILD_ID_PREFIX.length).trim() : "";
}

export function run(): void {
  let bundle: LoadedBundle;
  try {
    bundle = loadBundle();
  } catch (error) {
    process.stderr.write(`limactl-limawan: ${(error as Error).message}\n`);
    process.exitCode = 3; // EXIT.ENVIRONMENT (plugin/errors.ts): this file loads before the bundle
    return;
  }
  bundle.main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    // main reports every error itself; one that escapes it is a bug, said without a stack.
    (error: unknown) => {
      process.stderr.write(`limactl-limawan: internal error: ${error instanceof Error ? error.message : String(error)}\nThis is a LimaWAN bug; please report it with the command you ran.\n`);
      process.exitCode = 70; // EXIT.INTERNAL
    },
  );
}

if (require.main === module) run();
