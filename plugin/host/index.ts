// The host as LimaWAN sees it: one adapter per program and file, each parsing its own tool's
// output. Commands and the engine receive this object; tests point the programs and paths
// elsewhere (PATH, LIMA_HOME, LIMAWAN_*), never these objects' internals.
import type { Ipv4Address } from "../../compiler/ir.js";
import type { Environment } from "../environment.js";
import { Arp } from "./arp.js";
import { LimaYamlFiles } from "./files.js";
import { Ifconfig } from "./ifconfig.js";
import { Launchd } from "./launchd.js";
import { Leases } from "./leases.js";
import { Lima } from "./lima.js";
import { Listeners } from "./listeners.js";
import { PfConf } from "./pf-conf.js";
import { Pfctl } from "./pfctl.js";
import { PublicAddress } from "./public-address.js";
import { RootCopy } from "./root-copy.js";
import { RouterClient } from "./router.js";
import { Route } from "./route.js";
import type { Runner, UserIdentity } from "./run.js";
import { StateStore } from "./state-file.js";
import { Sysctl } from "./sysctl.js";

export interface Host {
  /** Whether changes are only described (--dry-run). */
  readonly dryRun: boolean;
  pfctl: Pfctl;
  pfConf: PfConf;
  sysctl: Sysctl;
  route: Route;
  ifconfig: Ifconfig;
  arp: Arp;
  launchd: Launchd;
  lima: Lima;
  leases: Leases;
  state: StateStore;
  listeners: Listeners;
  files: LimaYamlFiles;
  rootCopy: RootCopy;
  publicAddress: PublicAddress;
  /**
   * A client for the router at `gateway` (the default route's): PCP and NAT-PMP on 5351, SSDP on
   * 1900, as the protocols fix them. Its clock is the wall clock in seconds, so epochs recorded by
   * one command compare with those a later one reads.
   */
  router(gateway: Ipv4Address): RouterClient;
  /** How a program runs as the invoking user (the runner's): monitor's --alert-cmd. */
  userIdentity(): UserIdentity | null;
}

export function createHost(environment: Environment, runner: Runner): Host {
  const { paths } = environment;
  const pfctl = new Pfctl(runner);
  const leases = new Leases(paths.dhcpdLeases);
  // Root reads files of the Lima home only when they are the VMs' owner's (host/files.ts
  // readUserFile). A file named on the command line (plan, check) is read as asked: those
  // commands run as root only when an admin gives --sudo and their password.
  const owner = environment.isRoot ? (environment.invokingUser?.uid ?? null) : null;
  return {
    dryRun: runner.dryRun,
    pfctl,
    pfConf: new PfConf(paths.pfConf, paths.stateDir, pfctl, runner),
    sysctl: new Sysctl(runner),
    route: new Route(runner),
    ifconfig: new Ifconfig(runner),
    launchd: new Launchd(runner, paths.launchdDir, paths.stateDir),
    lima: new Lima(runner, paths.limaHome, owner),
    arp: new Arp(runner),
    leases,
    state: new StateStore(paths.stateDir, runner),
    listeners: new Listeners(),
    files: new LimaYamlFiles(runner),
    rootCopy: new RootCopy(paths.libexecDir, runner),
    publicAddress: new PublicAddress(environment.publicAddressUrl),
    router: (gateway) => new RouterClient({ gateway, clock: () => Date.now() / 1000 }),
    userIdentity: () => runner.userIdentity(),
  };
}
