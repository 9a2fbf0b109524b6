export function codeCacheUsed(bundleDir: string, env?: NodeJS.ProcessEnv): boolean;
