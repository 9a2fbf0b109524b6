// LimaWAN's record of what it changed on the host, as data: the shape, its validation when
// read back (root trusts no file blindly), and its correction by what pfctl reports.
import type { InterfaceName, Ipv4Address, VmSpec } from "../../compiler/ir.js";
import { pfNamesOf, type ForwardPfNames } from "../../compiler/pf-names.js";
import { recheckSpec } from "../../compiler/pipeline.js";
import { parseIpv4Address, vmAddressProblem } from "../../compiler/validate/addresses.js";
import { isInterfaceName, isLoopback } from "../../compiler/validate/interfaces.js";
import { CliError, EXIT } from "../errors.js";
import type { Host } from "../host/index.js";
import type { Observed } from "./plan-actions.js";
import type { PointsHistory } from "./points-fight.js";
import { emptyRouterState, routerStateProblem, type RouterState } from "./router-state.js";

export const STATE_VERSION = 1;

export interface AppliedVm {
  instance: string;
  file: string;
  address: Ipv4Address;
  spec: VmSpec;
}

export interface State {
  version: typeof STATE_VERSION;
  /** VMs whose rules are in the loaded anchor, by instance name. */
  vms: Record<string, AppliedVm>;
  /** sha256 of the anchor text last loaded, to skip identical reloads. */
  anchorHash: string | null;
  /** Default WAN interfaces the anchor was rendered with. */
  interfaces: string[];
  /** Our `pfctl -E` reference, released with -X when the last forward goes. */
  pfToken: string | null;
  /** net.inet.ip.forwarding as found before LimaWAN first set it. */
  forwarding: { prior: string; changedByLimawan: boolean } | null;
  /** pf.conf anchor points LimaWAN inserted, and the untouched copy kept beside the state. */
  pfConf: { addedBy: "install" | "up"; backup: string } | null;
  /** Instances `down` took out: the watcher leaves them alone until `up` names them again. */
  heldDown: string[];
  /** The watcher putting our anchor points back after another tool dropped them (points-fight.ts). */
  points: PointsHistory;
  /** The router mappings of `router` forwards (router-state.ts); absent from files written before them. */
  router: RouterState;
}

export function emptyState(): State {
  return { version: STATE_VERSION, vms: {}, anchorHash: null, interfaces: [], pfToken: null, forwarding: null, pfConf: null, heldDown: [], points: { restores: [], pausedUntil: null }, router: emptyRouterState() };
}

/**
 * The state file's text → a State, or why it cannot be trusted. Every VM's address and spec go
 * through the validators fresh input goes through: a hand-edited `address: 127.0.0.1` or a rule
 * no annotation could produce must never reach PF.
 */
export function parseState(text: string): { ok: true; state: State } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  if (!isRecord(value)) return { ok: false, reason: "not a JSON object" };
  if (value.version !== STATE_VERSION) return { ok: false, reason: `version ${String(value.version)}` };
  const state = { ...emptyState(), ...value } as Record<string, unknown>;

  if (!isRecord(state.vms)) return { ok: false, reason: "`vms` is not an object" };
  const vms: Record<string, AppliedVm> = {};
  for (const [name, record] of Object.entries(state.vms)) {
    if (!isRecord(record) || record.instance !== name || typeof record.file !== "string") return { ok: false, reason: `vms.${name} is not a VM record` };
    const address = typeof record.address === "string" ? parseIpv4Address(record.address) : null;
    if (!address) return { ok: false, reason: `vms.${name}.address is not an IPv4 address` };
    const problem = vmAddressProblem(address, false);
    if (problem) return { ok: false, reason: `vms.${name}.address: ${problem}` };
    const spec = isRecord(record.spec) ? recheckSpec(record.spec as unknown as VmSpec) : null;
    if (!spec || spec.vm !== name) return { ok: false, reason: `vms.${name}.spec is not what an annotation compiles to` };
    vms[name] = { instance: name, file: record.file, address, spec };
  }
  for (const [field, problem] of Object.entries(FIELD_PROBLEMS)) {
    const reason = problem(state[field]);
    if (reason) return { ok: false, reason };
  }
  return { ok: true, state: { ...(state as unknown as State), vms } };
}

/** What each field but `version` and `vms` may hold, or why not: checked on every read, and one by one when a damaged file is salvaged. */
const FIELD_PROBLEMS: Record<Exclude<keyof State, "version" | "vms">, (value: unknown) => string | null> = {
  anchorHash: (v) => (v === null || (typeof v === "string" && /^[0-9a-f]{64}$/.test(v)) ? null : "`anchorHash` is not a sha256"),
  interfaces: (v) => (isStringArray(v) && (v.length === 0 || parseRecordedInterfaces(v) !== undefined) ? null : "`interfaces` is not a list of WAN interface names"),
  pfToken: (v) => (v === null || (typeof v === "string" && /^\d{1,20}$/.test(v)) ? null : "`pfToken` is not a PF token"),
  forwarding: (v) =>
    v === null || (isRecord(v) && typeof v.prior === "string" && /^\d+$/.test(v.prior) && typeof v.changedByLimawan === "boolean") ? null : "`forwarding` is not a recorded sysctl value",
  pfConf: (v) => (v === null || (isRecord(v) && (v.addedBy === "install" || v.addedBy === "up") && typeof v.backup === "string") ? null : "`pfConf` is not a pf.conf record"),
  heldDown: (v) => (isStringArray(v) ? null : "`heldDown` is not a list of instance names"),
  points: (v) =>
    isRecord(v) && Array.isArray(v.restores) && v.restores.every((t) => Number.isSafeInteger(t)) && (v.pausedUntil === null || Number.isSafeInteger(v.pausedUntil))
      ? null
      : "`points` is not the anchor points' restore history",
  router: routerStateProblem,
};

/** What a damaged file's host record still says: the fields that read back on their own. */
export interface Salvaged {
  /** The file's own fields that passed their check (none when it is not a version-1 JSON object). */
  record: Partial<Pick<State, "pfToken" | "forwarding" | "pfConf" | "heldDown" | "points" | "router">>;
  /** Those that did not: what LimaWAN no longer knows. */
  lost: Array<"pfToken" | "forwarding" | "pfConf" | "heldDown" | "points" | "router">;
}

/**
 * The parts of a damaged state file that are not about what PF holds, each kept only when it
 * passes the check a whole file's would (a `vms` entry or the anchor's hash never is: they are
 * rebuilt from PF). A file that is no version-1 JSON object gives nothing.
 */
export function salvageState(text: string): Salvaged {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = null;
  }
  const fields = ["pfToken", "forwarding", "pfConf", "heldDown", "points", "router"] as const;
  const record: Record<string, unknown> = {};
  const lost: Salvaged["lost"] = [];
  for (const field of fields) {
    const found = isRecord(value) && value.version === STATE_VERSION && field in value ? value[field] : undefined;
    if (found !== undefined && FIELD_PROBLEMS[field](found) === null) record[field] = found;
    else lost.push(field);
  }
  return { record: record as Salvaged["record"], lost };
}

/** The state file as read: a state, none yet (empty), or damaged — with why and its text. */
export type StateRead = { ok: true; state: State } | { ok: false; reason: string; text: string };

export async function readStateFile(host: Host): Promise<StateRead> {
  const text = await host.state.read();
  if (text === null) return { ok: true, state: emptyState() };
  const parsed = parseState(text);
  return parsed.ok ? parsed : { ok: false, reason: parsed.reason, text };
}

/**
 * The state as recorded, validated (host/state-file.ts holds the text). A damaged file is an
 * error coded `state-damaged`: the commands that change PF rebuild it instead
 * (state-recovery.ts); the ones that only read say so.
 */
export async function readState(host: Host): Promise<State> {
  const read = await readStateFile(host);
  if (read.ok) return read.state;
  throw damagedStateError(host.state.file, read.reason);
}

export function damagedStateError(file: string, reason: string): CliError {
  return new CliError(
    EXIT.ENVIRONMENT,
    `${file} is damaged (${reason})`,
    "`limactl limawan up --all` (or `down`) moves it aside and rebuilds it from what pfctl reports.",
    undefined,
    null,
    "state-damaged",
  );
}

export async function writeState(host: Host, state: State): Promise<void> {
  const vms = Object.values(state.vms).map((vm) => `${vm.instance} ${vm.address} (${vm.spec.forwards.length} forwards)`);
  await host.state.write(`${JSON.stringify(state, null, 2)}\n`, `LimaWAN's record: ${vms.join(", ") || "no VMs forwarded"}`);
}

/** The recorded WAN interfaces, checked as --interface is (they are written into rules), or undefined if none or not all valid. */
export function parseRecordedInterfaces(names: readonly string[]): InterfaceName[] | undefined {
  if (names.length === 0) return undefined;
  return names.every((n) => isInterfaceName(n) && !isLoopback(n)) ? (names as InterfaceName[]) : undefined;
}

/** The PF names of every rule the state says is loaded (labels to check, tables to remove). */
export function appliedPfNames(state: State): ForwardPfNames[] {
  return Object.values(state.vms).flatMap((vm) => pfNamesOf(vm.spec));
}

/**
 * Make the recorded state true again (reboot, crash, hand edits): a token PF no longer knows
 * is dropped; a VM whose rules are no longer loaded is no longer applied.
 */
export function reconcileState(state: State, observed: Observed): State {
  const vms: Record<string, AppliedVm> = {};
  for (const [name, vm] of Object.entries(state.vms)) {
    if (pfNamesOf(vm.spec).every((names) => observed.labels.has(names.label))) vms[name] = vm;
  }
  const anchorIntact = Object.keys(vms).length === Object.keys(state.vms).length;
  return {
    ...state,
    vms,
    pfToken: observed.tokenHeld ? state.pfToken : null,
    anchorHash: anchorIntact ? state.anchorHash : null,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}
