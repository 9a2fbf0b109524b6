// Types for the harness's use of bundle.mjs.
export const BUNDLE_DIR: string;
export function bundleStandins(): void;
