// The version `--version` prints: package.json's, put in by the build (scripts/build.mjs) so
// no file is read at start-up; "dev" when run from source (vitest).
declare const __LIMAWAN_VERSION__: string | undefined;
export const VERSION: string = typeof __LIMAWAN_VERSION__ === "string" ? __LIMAWAN_VERSION__ : "dev";
