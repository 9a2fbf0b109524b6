// What the watch daemon knows of Lima's instances between two `limactl list`: the last listing
// (a VM's networks, MACs and directory do not change while it runs; a lima.yaml edit makes the
// next run ask Lima again), with each instance's status as its events said since (issue 19:
// query Lima only when the event itself lacks what is needed).
import type { Lease } from "../host/leases.js";
import { addressForMac } from "../host/leases.js";
import { routableNetworks, type Instance } from "../host/lima.js";

/** What an event says of an instance's status, in Lima's words (`limactl list`). */
export type ToldStatus = "Running" | "Stopped";

/** `outlivesListing`: kept over later listings (Lima's exiting event: see tell). */
interface Told { status: ToldStatus; at: number; outlivesListing: boolean }

export class KnownInstances {
  private listed: Map<string, Instance> | null = null;
  private readonly told = new Map<string, Told>();
  /** Counts what was said, so a listing asked for before an event does not overrule it. */
  private clock = 0;

  /**
   * An event said the instance is running (its `running` event, its host agent started) or
   * stopped (its exiting event, its host agent gone). Lima lists an exiting VM as Running until
   * its host agent has stopped the VM and removed ha.pid, seconds later: `exiting` outlives the
   * listings until the host agent is gone or starts again, so a listing meanwhile does not put
   * the forwards back for those seconds.
   */
  tell(name: string, status: ToldStatus, exiting = false): void {
    this.told.set(name, { status, at: ++this.clock, outlivesListing: exiting });
  }

  /** Ask Lima: returns the listing, with what events said after it was asked for laid over it. */
  async ask(list: () => Promise<Instance[]>): Promise<Instance[]> {
    const askedAt = this.clock;
    const listing = await list();
    this.listed = new Map(listing.map((i) => [i.name, i]));
    for (const [name, told] of this.told) {
      if (!this.listed.has(name) || (told.at <= askedAt && !told.outlivesListing)) this.told.delete(name);
    }
    return withTold(listing, this.told);
  }

  /** The listing as the events since tell it, or null when they do not say enough (see listingFromEvents). */
  fromEvents(leases: readonly Lease[]): Instance[] | null {
    return this.listed ? listingFromEvents([...this.listed.values()], this.told, leases) : null;
  }

  forget(): void {
    this.listed = null;
  }
}

/**
 * The last listing with the statuses events told since, or null when Lima must be asked: an
 * instance it does not know, or one told running that bootpd's leases do not place yet (booting,
 * or bridged: its lease is on the LAN's DHCP server). Pure.
 */
export function listingFromEvents(listing: readonly Instance[], told: ReadonlyMap<string, { status: ToldStatus }>, leases: readonly Lease[]): Instance[] | null {
  const byName = new Map(listing.map((i) => [i.name, i]));
  for (const [name, { status }] of told) {
    const instance = byName.get(name);
    if (!instance) return null;
    if (status === "Running" && instance.status !== "Running" && !hasLease(instance, leases)) return null;
  }
  return withTold(listing, told);
}

function hasLease(instance: Instance, leases: readonly Lease[]): boolean {
  return routableNetworks(instance).some((n) => n.macAddress !== undefined && addressForMac(leases, n.macAddress) !== null);
}

function withTold(listing: readonly Instance[], told: ReadonlyMap<string, { status: ToldStatus }>): Instance[] {
  return listing.map((i) => {
    const status = told.get(i.name)?.status;
    return status && status !== i.status ? { ...i, status } : i;
  });
}
