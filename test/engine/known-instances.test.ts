import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Ipv4Address } from "../../compiler/ir.js";
import { normaliseMac, type Lease } from "../../plugin/host/leases.js";
import type { Instance } from "../../plugin/host/lima.js";
import { KnownInstances, listingFromEvents, type ToldStatus } from "../../plugin/engine/known-instances.js";

const instance = (name: string, status: string, mac: string | null): Instance => ({
  name,
  status,
  dir: `/lima/${name}`,
  network: mac ? [{ lima: "shared", macAddress: mac }] : [{ lima: "user-v2" }],
});
const lease = (mac: string, address: string): Lease => ({ name: null, address: address as Ipv4Address, mac: normaliseMac(mac)!, expires: 2_000_000_000 });

const web = instance("web", "Stopped", "52:55:55:00:00:02");
const keep = instance("keep", "Running", "52:55:55:00:00:01");
const webLease = lease("52:55:55:00:00:02", "192.168.105.2");
const told = (entries: Array<[string, ToldStatus]>) => new Map(entries.map(([name, status]) => [name, { status }]));

describe("listingFromEvents", () => {
  it("a known VM told running with a lease: the last listing with its new status, nothing else changed", () => {
    expect(listingFromEvents([keep, web], told([["web", "Running"]]), [webLease])).toEqual([keep, { ...web, status: "Running" }]);
  });

  it("told stopped: no lease needed", () => {
    expect(listingFromEvents([keep, web], told([["keep", "Stopped"]]), [])).toEqual([{ ...keep, status: "Stopped" }, web]);
  });

  it("asks Lima for a VM it does not know, or one told running without a lease yet (booting, bridged)", () => {
    expect(listingFromEvents([keep], told([["web", "Running"]]), [webLease])).toBeNull();
    expect(listingFromEvents([keep], told([["web", "Stopped"]]), [])).toBeNull();
    expect(listingFromEvents([keep, web], told([["web", "Running"]]), [lease("52:55:55:00:00:09", "192.168.105.9")])).toBeNull();
    expect(listingFromEvents([keep, instance("nat", "Stopped", null)], told([["nat", "Running"]]), [webLease])).toBeNull();
  });

  it("changes only the statuses of the instances told, to what they were told", () => {
    const statuses = fc.constantFrom<ToldStatus>("Running", "Stopped");
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("keep", "web"), statuses)), (entries) => {
        const said = told(entries);
        const result = listingFromEvents([keep, web], said, [webLease]);
        if (!result) return;
        for (const [i, before] of [keep, web].entries()) {
          expect(result[i]).toEqual({ ...before, status: said.get(before.name)?.status ?? before.status });
        }
      }),
    );
  });
});

describe("KnownInstances", () => {
  it("knows nothing before Lima was asked once", () => {
    expect(new KnownInstances().fromEvents([webLease])).toBeNull();
  });

  it("an event said while Lima was being asked wins over the listing; one said before does not", async () => {
    const known = new KnownInstances();
    known.tell("keep", "Stopped");
    let answer: (listing: Instance[]) => void = () => undefined;
    const asked = known.ask(() => new Promise((resolve) => (answer = resolve)));
    known.tell("web", "Running"); // the lease and ha.pid came meanwhile
    answer([keep, web]);
    expect(await asked).toEqual([keep, { ...web, status: "Running" }]);
    expect(known.fromEvents([webLease])).toEqual([keep, { ...web, status: "Running" }]);
  });

  it("an exiting VM stays stopped over listings that still say Running, until its host agent is gone or starts again", async () => {
    const known = new KnownInstances();
    await known.ask(async () => [keep, web]);
    known.tell("keep", "Stopped", true);
    expect(await known.ask(async () => [keep, web])).toEqual([{ ...keep, status: "Stopped" }, web]);
    known.tell("keep", "Running"); // its host agent started again
    expect(await known.ask(async () => [keep, web])).toEqual([keep, web]);
  });

  it("forgets what it was told of an instance Lima no longer lists", async () => {
    const known = new KnownInstances();
    await known.ask(async () => [keep, web]);
    known.tell("web", "Stopped", true);
    await known.ask(async () => [keep]);
    expect(known.fromEvents([])).toEqual([keep]);
  });
});
