/**
 * Record synthesis for one Service, after the Kubernetes DNS-based service discovery specification 1.1.0
 * (https://github.com/kubernetes/dns/blob/master/docs/specification.md), with podns's weights: per-pod weights,
 * traffic splits, slow start, and topology-zone variants of the Service's RRsets.
 */
import { isIPv4 } from "node:net";
import { QType } from "../dns/constants.js";
import { child, type Fqdn, isHostLabel } from "../dns/name.js";
import type { Rr, RrSet } from "../dns/records.js";
import type { EndpointPort, PodInfo, ServiceInfo, SliceInfo } from "./model.js";
import { addressLabel, flatName, reverseName } from "./names.js";
import { applyTrafficSplit } from "./traffic-split.js";
import { DEFAULT_WEIGHT, encodeSrvWeights, MAX_SRV_WEIGHT } from "./weights.js";

export type ClusterIpMode = "endpoints" | "vip";

export interface SynthesisOptions {
  /** Forward zones (cluster domains); PTR records point into the first. */
  readonly zones: readonly Fqdn[];
  /** Seconds, for every synthesised record. */
  readonly ttl: number;
  /** `endpoints`: a Service with a selector answers with its ready endpoints; `vip`: with its cluster IPs. */
  readonly clusterIp: ClusterIpMode;
  /** Seconds of slow start for Services without the annotation; 0 is off. */
  readonly slowStart?: number;
  /** Prefer same-zone endpoints for every Service, not only those that ask (`--prefer-same-zone`). */
  readonly preferSameZone?: boolean;
}

/** What synthesis reads besides the Service and its slices. */
export interface SynthesisContext {
  pod(key: string): PodInfo | undefined;
  /** Milliseconds since the epoch when podns first saw this endpoint ready (recorded on first ask). */
  firstReady(endpointKey: string): number;
  /** Milliseconds since the epoch. */
  readonly now: number;
}

/** Slow start ramps from this fraction of the full weight (podns weight policy). */
const SLOW_START_FLOOR = 0.1;

/** One published endpoint of a Service: a pod (or a bare address), merged across slices and address families. */
export interface PublishedEndpoint {
  readonly key: string;
  readonly label: string;
  readonly v4: readonly string[];
  readonly v6: readonly string[];
  /** EndpointSlice ports of this endpoint, by port name. */
  readonly ports: ReadonlyMap<string, EndpointPort>;
  /** Effective relative weight (per-pod weight, split share, slow start); undefined: left out of the Service's
   *  answers by a traffic split (its per-pod name still resolves). */
  readonly weight: number | undefined;
  /** Topology zones it serves: `hints.forZones`, else its own zone. */
  readonly zones: readonly string[];
  /** Serving but terminating, published only because no endpoint is ready. */
  readonly draining: boolean;
}

export interface ServiceSynthesis {
  readonly sets: RrSet[];
  /** Milliseconds since the epoch when the last slow-start ramp ends; undefined without ramps. */
  readonly rampUntil: number | undefined;
}

/** Every RRset of one Service in every forward zone, plus its PTR records. */
export function serviceRecords(
  svc: ServiceInfo,
  slices: readonly SliceInfo[],
  ctx: SynthesisContext,
  opts: SynthesisOptions,
): ServiceSynthesis {
  const out = new RrSetCollector(opts.ttl);
  const perEndpoint = svc.headless || (opts.clusterIp === "endpoints" && svc.hasSelector);
  const published =
    perEndpoint && svc.externalName === undefined ? publishedEndpoints(svc, slices, ctx, opts) : undefined;
  const endpoints = published?.endpoints ?? [];
  const preferZone = svc.preferClose || opts.preferSameZone === true;
  opts.zones.forEach((zone, i) => {
    const base = child([svc.name, svc.namespace, "svc"], zone);
    if (svc.externalName !== undefined) {
      const target = externalTarget(svc.externalName);
      if (target) out.add({ name: base, ttl: opts.ttl, type: QType.CNAME, target });
      return;
    }
    const withPtr = i === 0;
    if (endpoints.length > 0) endpointRecords(out, base, svc, endpoints, withPtr, preferZone);
    else if (!svc.headless) clusterIpRecords(out, base, svc);
    if (withPtr && !svc.headless) {
      for (const ip of svc.clusterIPs)
        out.add({ name: reverseName(ip), ttl: opts.ttl, type: QType.PTR, target: base });
    }
  });
  return { sets: out.sets(), rampUntil: published?.rampUntil };
}

interface Merged {
  hostname?: string;
  v4: string[];
  v6: string[];
  ports: Map<string, EndpointPort>;
  pod: string | undefined;
  ready: boolean;
  draining: boolean;
  zones: string[];
}

/**
 * Endpoints that count, merged by pod across slices and address families: ready (`conditions.ready` true or unset),
 * or all with publishNotReadyAddresses. When none is ready, serving-but-terminating endpoints are published instead,
 * as kube-proxy falls back to them, so that a rolling update of one replica never answers NXDOMAIN.
 */
export function publishedEndpoints(
  svc: ServiceInfo,
  slices: readonly SliceInfo[],
  ctx: SynthesisContext,
  opts: SynthesisOptions,
): { endpoints: PublishedEndpoint[]; rampUntil: number | undefined } {
  const merged = mergeEndpoints(svc, slices);
  let chosen = [...merged.values()].filter((e) => e.ready);
  if (chosen.length === 0) chosen = [...merged.values()].filter((e) => e.draining);
  chosen.sort((a, b) => compare(labelOf(a), labelOf(b)));
  const pods = chosen.map((e) => (e.pod === undefined ? undefined : ctx.pod(e.pod)));
  let weights: (number | undefined)[] = pods.map((p) => p?.weight ?? DEFAULT_WEIGHT);
  if (svc.trafficSplit !== undefined) {
    const key = svc.trafficSplit.labelKey;
    const input = weights.map((w, i) => ({ weight: w ?? 0, labelValue: pods[i]?.labels[key] }));
    weights = applyTrafficSplit(svc.trafficSplit, input);
  }
  const slowStart = (svc.slowStart ?? opts.slowStart ?? 0) * 1000;
  let rampUntil: number | undefined;
  const endpoints = chosen.map((e, i): PublishedEndpoint => {
    let weight = weights[i];
    if (slowStart > 0 && weight !== undefined && e.ready) {
      // A Ready time in the future (clock skew between nodes and podns) is not believed.
      const podSince = pods[i]?.readySince;
      const since = podSince !== undefined && podSince <= ctx.now ? podSince : ctx.firstReady(endpointKey(e));
      const age = ctx.now - since;
      if (age < slowStart) {
        weight *= SLOW_START_FLOOR + (1 - SLOW_START_FLOOR) * Math.max(0, age / slowStart);
        rampUntil = Math.max(rampUntil ?? 0, since + slowStart);
      }
    }
    const label = labelOf(e);
    return {
      key: endpointKey(e),
      label,
      v4: e.v4,
      v6: e.v6,
      ports: e.ports,
      weight,
      zones: e.zones,
      draining: !e.ready,
    };
  });
  return { endpoints, rampUntil };
}

function mergeEndpoints(svc: ServiceInfo, slices: readonly SliceInfo[]): Map<string, Merged> {
  const byKey = new Map<string, Merged>();
  for (const slice of slices) {
    if (slice.addressType === "FQDN") continue;
    for (const ep of slice.endpoints) {
      const ready = ep.ready || svc.publishNotReady;
      const draining = !ready && ep.serving && ep.terminating;
      if (!ready && !draining) continue;
      const key = ep.pod ?? `address/${ep.addresses[0]}`;
      let entry = byKey.get(key);
      if (entry === undefined) {
        entry = { v4: [], v6: [], ports: new Map(), pod: ep.pod, ready, draining, zones: [] };
        byKey.set(key, entry);
      }
      entry.ready ||= ready;
      if (ep.hostname !== undefined && isHostLabel(ep.hostname)) entry.hostname = ep.hostname.toLowerCase();
      for (const address of ep.addresses) {
        const list = isIPv4(address) ? entry.v4 : entry.v6;
        if (!list.includes(address)) list.push(address);
      }
      for (const port of slice.ports) if (!entry.ports.has(port.name)) entry.ports.set(port.name, port);
      for (const zone of ep.forZones ?? (ep.zone === undefined ? [] : [ep.zone])) {
        if (!entry.zones.includes(zone)) entry.zones.push(zone);
      }
    }
  }
  return byKey;
}

function labelOf(e: Merged): string {
  return e.hostname ?? addressLabel(e.v4[0] ?? e.v6[0]!);
}

function endpointKey(e: Merged): string {
  return e.pod ?? `address/${e.v4[0] ?? e.v6[0]}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function endpointRecords(
  out: RrSetCollector,
  base: Fqdn,
  svc: ServiceInfo,
  endpoints: readonly PublishedEndpoint[],
  withPtr: boolean,
  preferZone: boolean,
): void {
  const ttl = out.ttl;
  const hosts = new Map<string, Fqdn>();
  for (const ep of endpoints) {
    const host = flatName(child([ep.label], base));
    hosts.set(ep.label, host);
    for (const address of [...ep.v4, ...ep.v6]) {
      out.add({ name: host, ttl, type: isIPv4(address) ? QType.A : QType.AAAA, address });
      if (withPtr) out.add({ name: reverseName(address), ttl, type: QType.PTR, target: host });
    }
  }
  const members = endpoints.filter((ep) => ep.weight !== undefined);
  const zones = preferZone ? zoneNames(members) : [];
  out.put(addressSet(base, QType.A, members, (ep) => ep.v4, ttl, zones));
  out.put(addressSet(base, QType.AAAA, members, (ep) => ep.v6, ttl, zones));
  for (const port of svc.ports) {
    if (port.name === "") continue;
    const owner = child([`_${port.name}`, `_${port.protocol}`], base);
    out.put(
      srvSet(
        owner,
        hosts,
        members.filter((ep) => ep.ports.has(port.name)),
        port.name,
        ttl,
        zones,
      ),
    );
  }
}

/** Zones that some but not all endpoints serve: only there does a querier's zone change the answer. */
function zoneNames(endpoints: readonly PublishedEndpoint[]): string[] {
  const all = new Set(endpoints.flatMap((ep) => ep.zones));
  return [...all].filter((z) => !endpoints.every((ep) => ep.zones.includes(z))).sort();
}

/**
 * The Service's A or AAAA RRset with each record's weight, for the per-query weighted order. Zone variants list
 * same-zone records first (`preferred` of them).
 */
function addressSet(
  name: Fqdn,
  type: typeof QType.A | typeof QType.AAAA,
  endpoints: readonly PublishedEndpoint[],
  addresses: (ep: PublishedEndpoint) => readonly string[],
  ttl: number,
  zones: readonly string[],
): RrSet | undefined {
  const build = (first: (ep: PublishedEndpoint) => boolean): RrSet => {
    const ordered = [...endpoints.filter(first), ...endpoints.filter((ep) => !first(ep))];
    const records: Rr[] = [];
    const weights: number[] = [];
    let preferred = 0;
    const seen = new Set<string>();
    for (const ep of ordered) {
      for (const address of addresses(ep)) {
        if (seen.has(address)) continue;
        seen.add(address);
        records.push({ name, ttl, type, address });
        weights.push(ep.weight!);
        if (first(ep)) preferred++;
      }
    }
    return { name, type, records: records.slice(), weights: weights.slice(), preferred };
  };
  const set = build(() => false);
  if (set.records.length === 0) return undefined;
  if (zones.length === 0) return set;
  return { ...set, byZone: new Map(zones.map((z) => [z, build((ep) => ep.zones.includes(z))])) };
}

/**
 * SRV records of one named port: priority 0, the encoded weight, the endpoint's port, the per-pod target. Zone
 * variants give same-zone targets priority 0 and the rest priority 1 (RFC 2782: lower priorities are tried first).
 */
function srvSet(
  owner: Fqdn,
  hosts: ReadonlyMap<string, Fqdn>,
  endpoints: readonly PublishedEndpoint[],
  portName: string,
  ttl: number,
  zones: readonly string[],
): RrSet | undefined {
  if (endpoints.length === 0) return undefined;
  const encoded = encodeSrvWeights(endpoints.map((ep) => ep.weight ?? 0));
  const build = (priorityOf: (ep: PublishedEndpoint) => number): RrSet => ({
    name: owner,
    type: QType.SRV,
    records: endpoints.map((ep, i) => ({
      name: owner,
      ttl,
      type: QType.SRV,
      priority: priorityOf(ep),
      weight: encoded[i]!,
      port: ep.ports.get(portName)!.port,
      target: hosts.get(ep.label)!,
    })),
  });
  const set = build(() => 0);
  if (zones.length === 0) return set;
  return { ...set, byZone: new Map(zones.map((z) => [z, build((ep) => (ep.zones.includes(z) ? 0 : 1))])) };
}

/** The specification's ClusterIP records: A/AAAA of the cluster IPs, SRV per named port pointing at the Service. */
function clusterIpRecords(out: RrSetCollector, base: Fqdn, svc: ServiceInfo): void {
  const ttl = out.ttl;
  for (const ip of svc.clusterIPs)
    out.add({ name: base, ttl, type: isIPv4(ip) ? QType.A : QType.AAAA, address: ip });
  if (svc.clusterIPs.length === 0) return;
  for (const port of svc.ports) {
    if (port.name === "") continue;
    const owner = child([`_${port.name}`, `_${port.protocol}`], base);
    out.add({
      name: owner,
      ttl,
      type: QType.SRV,
      priority: 0,
      weight: MAX_SRV_WEIGHT,
      port: port.port,
      target: base,
    });
  }
}

function externalTarget(name: string): Fqdn | undefined {
  try {
    return child([name.replace(/\.$/, "")], "." as Fqdn);
  } catch {
    return undefined;
  }
}

/** Groups records into RRsets by owner name and type, dropping exact duplicates. */
class RrSetCollector {
  private readonly byKey = new Map<string, RrSet | Rr[]>();

  constructor(readonly ttl: number) {}

  add(rr: Rr): void {
    const key = `${rr.type} ${rr.name}`;
    const list = this.byKey.get(key);
    if (list === undefined) this.byKey.set(key, [rr]);
    else if (Array.isArray(list) && !list.some((r) => sameRdata(r, rr))) list.push(rr);
  }

  put(set: RrSet | undefined): void {
    if (set !== undefined) this.byKey.set(`${set.type} ${set.name}`, set);
  }

  /** The RRsets, in arrays of exact length: they live as long as the Service does, one set per name. */
  sets(): RrSet[] {
    return Array.from(this.byKey.values(), (v) =>
      Array.isArray(v) ? { name: v[0]!.name, type: v[0]!.type, records: v.slice() } : v,
    );
  }
}

function sameRdata(a: Rr, b: Rr): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
