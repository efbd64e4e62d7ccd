/**
 * The served data: an immutable index from owner name to RRsets, plus the zones podns is authoritative for. The
 * slow path builds a new Snapshot with `SnapshotBuilder` and swaps it in whole; the query path only reads it.
 */
import { QType } from "../dns/constants.js";
import { type Fqdn, isSubdomain, parent } from "../dns/name.js";
import type { Rr, RrSet, SoaRecord } from "../dns/records.js";

/** A served zone: its apex name and the SOA and NS RRsets at the apex. */
export interface Zone {
  readonly apex: Fqdn;
  readonly soa: SoaRecord;
  readonly ns: RrSet;
}

/** RRsets of one owner name, by type. An empty map is an empty non-terminal (RFC 8020 section 2). */
export type NameNode = ReadonlyMap<number, RrSet>;

/** Tells the topology zone of a querier's address (a pod IP podns knows). */
export interface ClientZones {
  zoneOfAddress(address: string): string | undefined;
}

const NO_CLIENT_ZONES: ClientZones = { zoneOfAddress: () => undefined };

export class Snapshot {
  constructor(
    readonly zones: ReadonlyMap<Fqdn, Zone>,
    readonly nodes: ReadonlyMap<Fqdn, NameNode>,
    /** False until the first complete sync of every dynamic source: negative answers become SERVFAIL. */
    readonly synced: boolean,
    /** Monotonic build number, distinct from the SOA serial; caches key on it. */
    readonly version: number,
    /** True when some RRset has topology-zone variants: only then is the querier's zone worth finding. */
    readonly zoneAware = false,
    readonly clients: ClientZones = NO_CLIENT_ZONES,
  ) {}

  /** The closest enclosing served zone of `name`, or undefined when podns is not authoritative for it. */
  zoneOf(name: Fqdn): Zone | undefined {
    let n: Fqdn | undefined = name;
    while (n !== undefined) {
      const zone = this.zones.get(n);
      if (zone !== undefined) return zone;
      n = parent(n);
    }
    return undefined;
  }
}

export interface ZoneSpec {
  readonly apex: Fqdn;
  /** From a zone file when one exists; otherwise synthesised (see `synthesiseSoa`). */
  readonly soa?: SoaRecord;
  readonly ns?: readonly Rr[];
}

/** Defaults of the synthesised SOA, as CoreDNS's kubernetes plugin writes them (refresh, retry, expire in seconds). */
const SOA_TIMERS = { refresh: 7200, retry: 1800, expire: 86_400 } as const;

/** SOA `ns.dns.<zone> hostmaster.<zone>` with MINIMUM = the record TTL (RFC 2308 section 4). */
export function synthesiseSoa(apex: Fqdn, ttl: number, serial: number): SoaRecord {
  return {
    name: apex,
    ttl,
    type: QType.SOA,
    mname: `ns.dns.${apex}` as Fqdn,
    rname: `hostmaster.${apex}` as Fqdn,
    serial,
    ...SOA_TIMERS,
    minimum: ttl,
  };
}

/**
 * Collects records and builds a Snapshot. Records outside every zone are counted and dropped; records of one name
 * and type from several sources are merged into one RRset with the smallest TTL (RFC 2181 section 5.2) and
 * duplicates removed.
 */
export class SnapshotBuilder {
  private readonly zoneSpecs = new Map<Fqdn, ZoneSpec>();
  private readonly sets = new Map<Fqdn, Map<number, Pending>>();
  private batch = 0;
  dropped = 0;

  constructor(private readonly ttl: number) {}

  addZone(spec: ZoneSpec): this {
    this.zoneSpecs.set(spec.apex, spec);
    return this;
  }

  /** Adds one source's records; a source must not repeat a record, while two sources may share one. */
  add(records: readonly Rr[]): this {
    this.batch++;
    for (const rr of records) {
      const pending = this.pending(rr.name, rr.type);
      if (pending === undefined) continue;
      pending.list.push(rr);
    }
    return this;
  }

  /**
   * Adds one source's whole RRsets. One that no other source shares is served as given, with its weights and
   * zone variants; one that is shared is merged into a plain RRset.
   */
  addSets(sets: readonly RrSet[]): this {
    this.batch++;
    for (const set of sets) {
      const pending = this.pending(set.name, set.type);
      if (pending === undefined) continue;
      if (pending.list.length === 0) pending.set = set;
      pending.list.push(...set.records);
    }
    return this;
  }

  private pending(name: Fqdn, type: number): Pending | undefined {
    if (!this.inZone(name)) {
      this.dropped++;
      return undefined;
    }
    let byType = this.sets.get(name);
    if (byType === undefined) {
      byType = new Map();
      this.sets.set(name, byType);
    }
    let pending = byType.get(type);
    if (pending === undefined) {
      pending = { list: [], batch: this.batch, merged: false, set: undefined };
      byType.set(type, pending);
    } else if (pending.batch !== this.batch) {
      pending.merged = true;
      pending.batch = this.batch;
    }
    return pending;
  }

  /** Builds the snapshot with the given SOA serial (RFC 1982 arithmetic is the reader's business). */
  build(serial: number, synced: boolean, version: number, clients?: ClientZones): Snapshot {
    const zones = new Map<Fqdn, Zone>();
    for (const spec of this.zoneSpecs.values()) zones.set(spec.apex, this.zone(spec, serial));
    const nodes = new Map<Fqdn, Map<number, RrSet>>();
    let zoneAware = false;
    for (const [name, byType] of this.sets) {
      const node = new Map<number, RrSet>();
      for (const [type, pending] of byType) {
        if (type === QType.SOA) continue;
        const set = settle(name, type, pending);
        if (set.byZone !== undefined) zoneAware = true;
        node.set(type, set);
      }
      nodes.set(name, node);
    }
    for (const zone of zones.values()) {
      const apexNode = nodes.get(zone.apex) ?? new Map<number, RrSet>();
      apexNode.set(QType.SOA, { name: zone.apex, type: QType.SOA, records: [zone.soa] });
      apexNode.set(QType.NS, zone.ns);
      nodes.set(zone.apex, apexNode);
    }
    addEmptyNonTerminals(nodes, zones);
    return new Snapshot(zones, nodes, synced, version, zoneAware, clients);
  }

  private zone(spec: ZoneSpec, serial: number): Zone {
    const soa = spec.soa
      ? { ...spec.soa, serial: Math.max(spec.soa.serial, serial) >>> 0 }
      : synthesiseSoa(spec.apex, this.ttl, serial);
    const nsRecords: readonly Rr[] = spec.ns?.length
      ? spec.ns
      : [{ name: spec.apex, ttl: this.ttl, type: QType.NS, target: soa.mname }];
    return { apex: spec.apex, soa, ns: rrset(spec.apex, QType.NS, nsRecords) };
  }

  private inZone(name: Fqdn): boolean {
    for (const apex of this.zoneSpecs.keys()) if (isSubdomain(name, apex)) return true;
    return false;
  }
}

interface Pending {
  readonly list: Rr[];
  batch: number;
  /** Records came from more than one source. */
  merged: boolean;
  /** The whole RRset, when one source gave it as such. */
  set: RrSet | undefined;
}

function settle(name: Fqdn, type: number, pending: Pending): RrSet {
  if (pending.merged) return mergedRrset(name, type, pending.list);
  return pending.set ?? rrset(name, type, pending.list);
}

function rrset(name: Fqdn, type: number, list: readonly Rr[]): RrSet {
  const ttl = list[0]!.ttl;
  return list.every((r) => r.ttl === ttl) ? { name, type, records: list } : mergedRrset(name, type, list);
}

function mergedRrset(name: Fqdn, type: number, list: readonly Rr[]): RrSet {
  const ttl = Math.min(...list.map((r) => r.ttl));
  const seen = new Set<string>();
  const records: Rr[] = [];
  for (const rr of list) {
    const key = JSON.stringify({ ...rr, ttl: 0 });
    if (seen.has(key)) continue;
    seen.add(key);
    records.push(rr.ttl === ttl ? rr : { ...rr, ttl });
  }
  return { name, type, records };
}

/** Every ancestor of an owner name, up to its zone apex, exists (RFC 8020): it answers NODATA, never NXDOMAIN. */
function addEmptyNonTerminals(nodes: Map<Fqdn, Map<number, RrSet>>, zones: ReadonlyMap<Fqdn, Zone>): void {
  for (const name of [...nodes.keys()]) {
    let n = parent(name);
    while (n !== undefined && !zones.has(n) && !nodes.has(n)) {
      nodes.set(n, new Map());
      n = parent(n);
    }
  }
}
