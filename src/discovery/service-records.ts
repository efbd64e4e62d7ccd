/**
 * Record synthesis for one Service, after the Kubernetes DNS-based service discovery specification 1.1.0
 * (https://github.com/kubernetes/dns/blob/master/docs/specification.md) with podns's per-pod weights.
 */
import { isIPv4 } from "node:net";
import { QType } from "../dns/constants.js";
import { child, type Fqdn, isHostLabel } from "../dns/name.js";
import type { Rr } from "../dns/records.js";
import type { EndpointPort, PodInfo, ServiceInfo, SliceInfo } from "./model.js";
import { addressLabel, reverseName } from "./names.js";
import { DEFAULT_WEIGHT, encodeSrvWeights, MAX_SRV_WEIGHT } from "./weights.js";

export type ClusterIpMode = "endpoints" | "vip";

export interface SynthesisOptions {
  /** Forward zones (cluster domains); PTR records point into the first. */
  readonly zones: readonly Fqdn[];
  /** Seconds, for every synthesised record. */
  readonly ttl: number;
  /** `endpoints`: a Service with a selector answers with its ready endpoints; `vip`: with its cluster IPs. */
  readonly clusterIp: ClusterIpMode;
}

/** One published endpoint of a Service: a pod (or a bare address), merged across slices and address families. */
export interface PublishedEndpoint {
  readonly label: string;
  readonly v4: readonly string[];
  readonly v6: readonly string[];
  /** EndpointSlice ports of this endpoint, by port name. */
  readonly ports: ReadonlyMap<string, EndpointPort>;
  /** Relative weight from `podns.io/weight`, else DEFAULT_WEIGHT. */
  readonly weight: number;
}

export type PodLookup = (key: string) => PodInfo | undefined;

/** Every record of one Service in every forward zone, plus its PTR records. */
export function serviceRecords(
  svc: ServiceInfo,
  slices: readonly SliceInfo[],
  pods: PodLookup,
  opts: SynthesisOptions,
): Rr[] {
  const out: Rr[] = [];
  const primary = opts.zones[0];
  for (const zone of opts.zones) {
    const base = child([svc.name, svc.namespace, "svc"], zone);
    if (svc.externalName !== undefined) {
      const target = externalTarget(svc.externalName);
      if (target) out.push({ name: base, ttl: opts.ttl, type: QType.CNAME, target });
      continue;
    }
    const perEndpoint = svc.headless || (opts.clusterIp === "endpoints" && svc.hasSelector);
    const endpoints = perEndpoint ? publishedEndpoints(svc, slices, pods) : [];
    const withPtr = zone === primary;
    if (endpoints.length > 0) endpointRecords(out, base, svc, endpoints, opts.ttl, withPtr);
    else if (!svc.headless) clusterIpRecords(out, base, svc, opts.ttl);
    if (withPtr && !svc.headless) {
      for (const ip of svc.clusterIPs)
        out.push({ name: reverseName(ip), ttl: opts.ttl, type: QType.PTR, target: base });
    }
  }
  return out;
}

/** Endpoints that count: ready (true or unset), or all with publishNotReadyAddresses; merged by pod. */
export function publishedEndpoints(svc: ServiceInfo, slices: readonly SliceInfo[], pods: PodLookup) {
  const byKey = new Map<
    string,
    { hostname?: string; v4: string[]; v6: string[]; ports: Map<string, EndpointPort>; pod?: string }
  >();
  for (const slice of slices) {
    if (slice.addressType === "FQDN") continue;
    for (const ep of slice.endpoints) {
      if (!ep.ready && !svc.publishNotReady) continue;
      const key = ep.pod ?? `address/${ep.addresses[0]}`;
      let entry = byKey.get(key);
      if (entry === undefined) {
        entry = { v4: [], v6: [], ports: new Map(), pod: ep.pod };
        byKey.set(key, entry);
      }
      if (ep.hostname !== undefined && isHostLabel(ep.hostname)) entry.hostname = ep.hostname.toLowerCase();
      for (const address of ep.addresses) {
        const list = isIPv4(address) ? entry.v4 : entry.v6;
        if (!list.includes(address)) list.push(address);
      }
      for (const port of slice.ports) if (!entry.ports.has(port.name)) entry.ports.set(port.name, port);
    }
  }
  const result: PublishedEndpoint[] = [];
  for (const e of byKey.values()) {
    const first = e.v4[0] ?? e.v6[0];
    if (first === undefined) continue;
    const weight = (e.pod !== undefined ? pods(e.pod)?.weight : undefined) ?? DEFAULT_WEIGHT;
    result.push({ label: e.hostname ?? addressLabel(first), v4: e.v4, v6: e.v6, ports: e.ports, weight });
  }
  return result.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

function endpointRecords(
  out: Rr[],
  base: Fqdn,
  svc: ServiceInfo,
  endpoints: readonly PublishedEndpoint[],
  ttl: number,
  withPtr: boolean,
): void {
  for (const ep of endpoints) {
    const host = child([ep.label], base);
    for (const address of ep.v4) {
      out.push({ name: base, ttl, type: QType.A, address });
      out.push({ name: host, ttl, type: QType.A, address });
      if (withPtr) out.push({ name: reverseName(address), ttl, type: QType.PTR, target: host });
    }
    for (const address of ep.v6) {
      out.push({ name: base, ttl, type: QType.AAAA, address });
      out.push({ name: host, ttl, type: QType.AAAA, address });
      if (withPtr) out.push({ name: reverseName(address), ttl, type: QType.PTR, target: host });
    }
  }
  for (const port of svc.ports) {
    if (port.name === "") continue;
    const owner = child([`_${port.name}`, `_${port.protocol}`], base);
    const serving = endpoints.filter((ep) => ep.ports.has(port.name));
    const weights = encodeSrvWeights(serving.map((ep) => ep.weight));
    serving.forEach((ep, i) => {
      const target = child([ep.label], base);
      const p = ep.ports.get(port.name)!;
      out.push({ name: owner, ttl, type: QType.SRV, priority: 0, weight: weights[i]!, port: p.port, target });
    });
  }
}

/** The specification's ClusterIP records: A/AAAA of the cluster IPs, SRV per named port pointing at the Service. */
function clusterIpRecords(out: Rr[], base: Fqdn, svc: ServiceInfo, ttl: number): void {
  for (const ip of svc.clusterIPs)
    out.push({ name: base, ttl, type: isIPv4(ip) ? QType.A : QType.AAAA, address: ip });
  if (svc.clusterIPs.length === 0) return;
  for (const port of svc.ports) {
    if (port.name === "") continue;
    const owner = child([`_${port.name}`, `_${port.protocol}`], base);
    out.push({
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
