/**
 * The zone store: owns the current Snapshot and rebuilds it from the static zones and the catalog when either
 * changes. Bursts of changes (a relist, a rollout) are coalesced into one rebuild; the SOA serial moves only when
 * the served records changed.
 */

import type { Catalog } from "../discovery/catalog.js";
import { QType } from "../dns/constants.js";
import { child, type Fqdn, isReverseZone } from "../dns/name.js";
import type { Rr, SoaRecord } from "../dns/records.js";
import { type Snapshot, SnapshotBuilder, type ZoneSpec } from "./snapshot.js";

/** Specification version published at `dns-version.<zone>` (Kubernetes DNS specification, section 2.1). */
export const SPEC_VERSION = "1.1.0";
/** How long a burst of changes may gather before one rebuild, in milliseconds. */
const COALESCE_MS = 2;

/** Static data of one zone, from a zone file. */
export interface StaticZone {
  readonly origin: Fqdn;
  readonly soa?: SoaRecord;
  readonly records: readonly Rr[];
}

export interface StoreOptions {
  /** Zones podns is authoritative for besides those of the zone files: forward and reverse zones. */
  readonly zones: readonly Fqdn[];
  /** Seconds: the TTL of synthesised records and the SOA MINIMUM. */
  readonly ttl: number;
}

export interface PublishInfo {
  readonly snapshot: Snapshot;
  readonly serial: number;
  readonly changed: boolean;
  /** Seconds spent building. */
  readonly buildSeconds: number;
}

export class ZoneStore {
  private snap: Snapshot;
  private serial = 0;
  private version = 0;
  private staticZones: readonly StaticZone[] = [];
  /** The static zones as JSON: a reload of unchanged files must not move the serial. */
  private staticFingerprint = "[]";
  private staticChanged = true;
  private readonly pendingSources = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private rampTimer: NodeJS.Timeout | undefined;
  private readonly listeners: ((info: PublishInfo) => void)[] = [];

  constructor(
    private readonly opts: StoreOptions,
    private readonly catalog: Catalog,
  ) {
    this.snap = this.build(false);
  }

  /** The snapshot queries read. Swapped whole; never mutated. */
  get current(): Snapshot {
    return this.snap;
  }

  get soaSerial(): number {
    return this.serial;
  }

  /** A source that must complete its first sync before negative answers are given; returns its "synced" callback. */
  registerSource(name: string): () => void {
    this.pendingSources.add(name);
    return () => {
      if (this.pendingSources.delete(name)) this.publishSoon();
    };
  }

  get synced(): boolean {
    return this.pendingSources.size === 0;
  }

  setStaticZones(zones: readonly StaticZone[]): void {
    const fingerprint = JSON.stringify(zones);
    if (fingerprint === this.staticFingerprint) return;
    this.staticFingerprint = fingerprint;
    this.staticZones = zones;
    this.staticChanged = true;
    this.publishSoon();
  }

  onPublish(listener: (info: PublishInfo) => void): void {
    this.listeners.push(listener);
  }

  /** Schedules a rebuild; many calls within the coalescing window make one. */
  publishSoon(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.publishNow();
    }, COALESCE_MS);
  }

  publishNow(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const started = performance.now();
    const changed = this.catalog.takeChanges() || this.staticChanged || this.snap.synced !== this.synced;
    if (!changed && this.snap.synced === this.synced) return;
    this.staticChanged = false;
    this.snap = this.build(changed);
    const info = {
      snapshot: this.snap,
      serial: this.serial,
      changed,
      buildSeconds: (performance.now() - started) / 1000,
    };
    for (const listener of this.listeners) listener(info);
    this.scheduleRamp();
  }

  /**
   * While a slow-start ramp runs, the affected Services are re-synthesised once per TTL: clients see the weight
   * rise at the pace they re-resolve, and the cost stays bounded.
   */
  private scheduleRamp(): void {
    if (this.rampTimer !== undefined || !this.catalog.ramping) return;
    this.rampTimer = setTimeout(() => {
      this.rampTimer = undefined;
      if (this.catalog.touchRamping(Date.now())) this.publishNow();
    }, Math.max(1, this.opts.ttl) * 1000);
    this.rampTimer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    clearTimeout(this.rampTimer);
    this.timer = undefined;
    this.rampTimer = undefined;
  }

  private build(changed: boolean): Snapshot {
    // RFC 1982 serials: seconds since the epoch, and always forward even for two changes in one second. Never
    // behind a zone file's serial: a date-style serial (2025061801) is ahead of the clock, and a zone served at
    // max(file, store) would keep the file's serial through every change.
    if (changed || this.serial === 0) {
      const fileSerials = this.staticZones.map((z) => z.soa?.serial ?? 0);
      this.serial = Math.max(this.serial + 1, Math.floor(Date.now() / 1000), ...fileSerials) >>> 0;
    }
    const builder = new SnapshotBuilder(this.opts.ttl);
    const fromFiles = new Map(this.staticZones.map((z) => [z.origin, z]));
    const apexes = new Set([...this.opts.zones, ...this.staticZones.map((z) => z.origin)]);
    for (const apex of apexes) {
      const file = fromFiles.get(apex);
      const spec: ZoneSpec = {
        apex,
        soa: file?.soa,
        ns: file?.records.filter((r) => r.name === apex && r.type === QType.NS),
      };
      builder.addZone(spec);
      if (!isReverseZone(apex)) {
        const name = child(["dns-version"], apex);
        builder.add([{ name, ttl: this.opts.ttl, type: QType.TXT, strings: [SPEC_VERSION] }]);
      }
    }
    for (const zone of this.staticZones) {
      builder.add(zone.records.filter((r) => !(r.name === zone.origin && r.type === QType.NS)));
    }
    // Until every source has synced, a partial catalog could answer wrongly (a Service listed before its
    // EndpointSlices): only static data is served, and everything else is SERVFAIL.
    if (this.synced) for (const group of this.catalog.rrsetGroups()) builder.addSets(group);
    return builder.build(this.serial, this.synced, ++this.version, this.catalog);
  }
}
