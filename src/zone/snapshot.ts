/**
 * What a query reads: the zone index and the served zones as of the last publish. The index is updated in place,
 * source by source, on the slow path between queries (zone/index.ts); a Snapshot adds the zones with their current
 * SOA, whether every source has synced, and a version that moves with every publish.
 */
import { QType } from "../dns/constants.js";
import type { Fqdn } from "../dns/name.js";
import type { Rr, RrSet, SoaRecord } from "../dns/records.js";
import type { NameNode, ZoneIndex } from "./index.js";

export type { NameNode } from "./index.js";

/** A served zone: its apex name and the SOA and NS RRsets at the apex. */
export interface Zone {
  readonly apex: Fqdn;
  readonly soa: SoaRecord;
  readonly ns: RrSet;
}

/** Tells the topology zone of a querier's address (a pod IP podns knows). */
export interface ClientZones {
  zoneOfAddress(address: string): string | undefined;
}

const NO_CLIENT_ZONES: ClientZones = { zoneOfAddress: () => undefined };

export class Snapshot {
  constructor(
    readonly index: ZoneIndex,
    readonly zones: ReadonlyMap<Fqdn, Zone>,
    /** False until the first complete sync of every dynamic source: negative answers become SERVFAIL. */
    readonly synced: boolean,
    /** Moves with every publish; answers that carry the SOA (negative answers) are cached per version. */
    readonly version: number,
    readonly clients: ClientZones = NO_CLIENT_ZONES,
  ) {}

  get nodes(): ReadonlyMap<Fqdn, NameNode> {
    return this.index.nodes;
  }

  /** True when some RRset has topology-zone variants: only then is the querier's zone worth finding. */
  get zoneAware(): boolean {
    return this.index.zonedSets > 0;
  }

  /** The closest enclosing served zone of `name`, or undefined when podns is not authoritative for it. */
  zoneOf(name: Fqdn): Zone | undefined {
    const apex = this.index.apexOf(name);
    return apex === undefined ? undefined : this.zones.get(apex);
  }
}

/** Defaults of the synthesised SOA, as CoreDNS's kubernetes plugin writes them (refresh, retry, expire in seconds). */
const SOA_TIMERS = { refresh: 7200, retry: 1800, expire: 86_400 } as const;

/** SOA `ns.dns.<zone> hostmaster.<zone>` with MINIMUM = the record TTL (RFC 2308 section 4). */
export function synthesiseSoa(apex: Fqdn, ttl: number, serial: number, nameZone: Fqdn = apex): SoaRecord {
  return {
    name: apex,
    ttl,
    type: QType.SOA,
    mname: `ns.dns.${nameZone}` as Fqdn,
    rname: `hostmaster.${nameZone}` as Fqdn,
    serial,
    ...SOA_TIMERS,
    minimum: ttl,
  };
}

/**
 * Groups records into RRsets by owner name and type, in order of first appearance; records of one RRset take the
 * smallest TTL among them (RFC 2181 section 5.2).
 */
export function groupRecords(records: readonly Rr[]): RrSet[] {
  const byKey = new Map<string, Rr[]>();
  for (const rr of records) {
    const key = `${rr.type} ${rr.name}`;
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [rr]);
    else list.push(rr);
  }
  const out: RrSet[] = [];
  for (const list of byKey.values()) {
    const ttl = Math.min(...list.map((r) => r.ttl));
    const records = list.map((r) => (r.ttl === ttl ? r : { ...r, ttl }));
    out.push({ name: list[0]!.name, type: list[0]!.type, records });
  }
  return out;
}
