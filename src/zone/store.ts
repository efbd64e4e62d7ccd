/**
 * The zone store: keeps the zone index up to date with the static zones and the catalog. Bursts of changes (a
 * relist, a rollout) are coalesced into one publish that touches only the Services that changed; the SOA serial
 * moves only when served records changed.
 */

import type { Catalog } from "../discovery/catalog.js";
import { QType } from "../dns/constants.js";
import { child, type Fqdn, isReverseZone } from "../dns/name.js";
import type { Rr, SoaRecord } from "../dns/records.js";
import { ZoneIndex } from "./index.js";
import { groupRecords, Snapshot, synthesiseSoa, type Zone } from "./snapshot.js";

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
  private index: ZoneIndex;
  private snap: Snapshot;
  private serial = 0;
  private version = 0;
  private staticZones: readonly StaticZone[] = [];
  /** The static zones as JSON: a reload of unchanged files must not move the serial. */
  private staticFingerprint = "[]";
  private staticChanged = true;
  /** The catalog's RRsets are in the index (from the first complete sync on). */
  private catalogApplied = false;
  private readonly pendingSources = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private rampTimer: NodeJS.Timeout | undefined;
  private readonly listeners: ((info: PublishInfo) => void)[] = [];

  constructor(
    private readonly opts: StoreOptions,
    private readonly catalog: Catalog,
  ) {
    this.index = new ZoneIndex(this.apexes());
    this.snap = this.publish(true);
  }

  /** What queries read now. */
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

  /** Schedules a publish; many calls within the coalescing window make one. */
  publishSoon(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.publishNow();
    }, COALESCE_MS);
  }

  /** Applies what changed to the index, in one synchronous step, and moves the SOA serial if anything did. */
  publishNow(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const started = performance.now();
    const wasSynced = this.snap.synced;
    const changed = this.apply();
    if (!changed && wasSynced === this.synced) return;
    this.snap = this.publish(changed);
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
      if (this.catalog.touchRamping()) this.publishNow();
    }, Math.max(1, this.opts.ttl) * 1000);
    this.rampTimer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    clearTimeout(this.rampTimer);
    this.timer = undefined;
    this.rampTimer = undefined;
  }

  private apexes(): Fqdn[] {
    return [...new Set([...this.opts.zones, ...this.staticZones.map((z) => z.origin)])];
  }

  /** Brings the index up to date; true when served records changed. */
  private apply(): boolean {
    const catalogChanged = this.catalog.takeChanges();
    let changed = false;
    if (this.staticChanged) {
      const apexes = this.apexes();
      if (apexes.length !== this.index.apexes.size || apexes.some((a) => !this.index.apexes.has(a))) {
        // The set of zones changed (a zone file came or went): start a fresh index, which is rare.
        this.index = new ZoneIndex(apexes);
        this.catalogApplied = false;
      }
      this.applyStatic();
      this.staticChanged = false;
      changed = true;
    }
    // Until every source has synced, a partial catalog could answer wrongly (a Service listed before its
    // EndpointSlices): only static data is served, and everything else is SERVFAIL.
    if (this.synced && !this.catalogApplied) {
      for (const [key, sets] of this.catalog.entries()) this.index.setSource(`svc:${key}`, sets);
      this.catalogApplied = true;
      changed = true;
    } else if (this.catalogApplied && catalogChanged) {
      for (const [key, sets] of this.catalog.lastChanges()) {
        if (this.index.setSource(`svc:${key}`, sets) > 0) changed = true;
      }
    }
    return changed;
  }

  private applyStatic(): void {
    const files = new Set<string>();
    for (const zone of this.staticZones) {
      const source = `file:${zone.origin}`;
      files.add(source);
      const records = zone.records.filter(
        (r) => r.name !== zone.origin || (r.type !== QType.NS && r.type !== QType.SOA),
      );
      this.index.setSource(source, groupRecords(records));
    }
    for (const [source] of [...this.index.sources()]) {
      if (source.startsWith("file:") && !files.has(source)) this.index.setSource(source, []);
    }
    for (const apex of this.index.apexes) {
      if (isReverseZone(apex)) continue;
      const name = child(["dns-version"], apex);
      const txt = { name, ttl: this.opts.ttl, type: QType.TXT, strings: [SPEC_VERSION] };
      this.index.setSource(`version:${apex}`, [{ name, type: QType.TXT, records: [txt] }]);
    }
  }

  /** Moves the serial when records changed and publishes the apex records and a new Snapshot. */
  private publish(changed: boolean): Snapshot {
    // RFC 1982 serials: seconds since the epoch, and always forward even for two changes in one second. Never
    // behind a zone file's serial: a date-style serial (2025061801) is ahead of the clock, and a zone served at
    // max(file, store) would keep the file's serial through every change.
    if (changed || this.serial === 0) {
      const fileSerials = this.staticZones.map((z) => z.soa?.serial ?? 0);
      this.serial = Math.max(this.serial + 1, Math.floor(Date.now() / 1000), ...fileSerials) >>> 0;
    }
    const zones = new Map<Fqdn, Zone>();
    const files = new Map(this.staticZones.map((z) => [z.origin, z]));
    const forward = this.opts.zones.find((z) => !isReverseZone(z));
    for (const apex of this.index.apexes) {
      const file = files.get(apex);
      const soa = file?.soa
        ? { ...file.soa, serial: this.serial }
        : synthesiseSoa(apex, this.opts.ttl, this.serial, isReverseZone(apex) ? (forward ?? apex) : apex);
      const nsRecords: Rr[] = file?.records.filter((r) => r.name === apex && r.type === QType.NS) ?? [];
      if (nsRecords.length === 0)
        nsRecords.push({ name: apex, ttl: this.opts.ttl, type: QType.NS, target: soa.mname });
      const ns = groupRecords(nsRecords)[0]!;
      zones.set(apex, { apex, soa, ns });
      this.index.setSource(`apex:${apex}`, [{ name: apex, type: QType.SOA, records: [soa] }, ns]);
    }
    return new Snapshot(this.index, zones, this.synced, ++this.version, this.catalog);
  }
}
