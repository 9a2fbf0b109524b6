// Types for what the tests use of the sudo stand-in (main.mjs).
export function main(sudoersFile: string, argv: string[]): Promise<void>;
export function commandMatches(entry: string, resolved: string, args: readonly string[]): boolean;
