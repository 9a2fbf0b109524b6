export interface Output { exitCode: number; stdout: string; stderr: string }
export interface SessionHost {
  pfctl(args: string[], input?: string): Output;
  ifconfig(args: string[]): Output;
  sysctl?(args: string[]): Output;
}
/** The ports tests take (inclusive), and why there. */
export interface TestPorts { low: number; high: number; why: string }
export interface SessionNames { anchor: string; blockAnchor: string; aliases: string[] }
export interface LoadedState {
  nat: string;
  rules: string;
  dummynet: string;
  /** Interfaces PF skips (`set skip on`), sorted. */
  skip: string[];
  tokens: string[];
  enabled: boolean;
  limawan: { nat: string; rules: string; tables: string };
}
export interface Session {
  names: SessionNames;
  ports: TestPorts;
  before: LoadedState;
  baseFile: string;
  tokenFile: string;
  mainText: string;
  addedAliases: string[];
  closed: boolean;
  close(): string[];
}
export const TEST_ANCHOR_PREFIX: string;
export function sessionNames(pid: number): SessionNames;
export function readLoadedState(pfctl: SessionHost["pfctl"]): LoadedState;
export const DEFAULT_FIRST_CLIENT_PORT: number;
export function testPorts(sysctlResult: Output): TestPorts;
export function parseSkipped(listing: string): string[];
export function skipOption(interfaces: string[]): string[];
export function testSkip(loaded: LoadedState): string[];
export function refusals(loaded: LoadedState, pfConf: string, options?: { acceptRuntimeRules?: boolean }): string[];
export function composeMain(loaded: LoadedState, names: SessionNames | null): string;
export function differences(before: LoadedState, after: LoadedState): string[];
export class Refused extends Error {
  problems: string[];
  constructor(problems: string[]);
}
export function openSession(options: {
  host: SessionHost;
  dir: string;
  pid: number;
  pfConf: string;
  acceptRuntimeRules?: boolean;
  log?: (line: string) => void;
}): Session;
export function recordToken(tokenFile: string, token: string): void;
