// Types for the TypeScript tests and harness that use the stand-ins' model of Lima.
export interface LimaNetworkEntry { lima?: string; socket?: string; vzNAT?: boolean; macAddress: string; interface: string; metric: number }
export interface InspectedInstance {
  name: string;
  hostname: string;
  status: "" | "Running" | "Stopped" | "Broken";
  dir: string;
  errors: string[];
  networks: LimaNetworkEntry[];
  config?: Record<string, unknown> & { vmType: string; ssh: { localPort: number }; user: { name: string } };
  vmType?: string;
  hostAgentPID?: number;
  driverPID?: number;
  sshLocalPort?: number;
  loadWarnings?: Array<{ comment: string; error: string }>;
  brokenDir?: boolean;
  invalid?: boolean;
}
export function limaVersion(): string;
export function limaHome(): string;
export function instanceNames(home: string): string[];
export function inspect(home: string, name: string): InspectedInstance | null;
export function instanceJson(home: string, inst: InspectedInstance): Record<string, unknown>;
export function isAlive(pid: number): boolean;
export function derivedMac(uniqueId: string): string;
export function ramInBytes(text: string): number | null;
