/**
 * What podns believes about each Service, for `/debug/services`: its endpoints as its EndpointSlices list them,
 * which of them its answers carry with what weight and share of traffic, and why each of the others is left out.
 * Computed on request from the catalog's read-only view by the synthesis functions themselves
 * (`publishedEndpoints`, `encodeSrvWeights`), so that this view and the answers cannot disagree.
 */
import { child, type Fqdn } from "../dns/name.js";
import type { EndpointInfo, NodeInfo, PodInfo, ServiceInfo, SliceInfo } from "./model.js";
import {
  type PublishedEndpoint,
  publishedEndpoints,
  type SynthesisContext,
  type SynthesisOptions,
} from "./service-records.js";
import { DEFAULT_WEIGHT, encodeSrvWeights } from "./weights.js";

/** What explaining reads: the catalog's `inspect()` view. */
export interface CatalogView {
  readonly services: Iterable<ServiceInfo>;
  slicesOf(svc: ServiceInfo): readonly SliceInfo[];
  pod(key: string): PodInfo | undefined;
  node(name: string): NodeInfo | undefined;
  readonly options: SynthesisOptions;
  /**
   * Milliseconds since the epoch when podns first saw an endpoint ready, the start of its slow-start ramp when its
   * pod has no Ready time. Without it, such an endpoint is shown at its full weight.
   */
  firstReady?(serviceKey: string, endpointKey: string): number | undefined;
}

export interface ServiceExplanation {
  readonly namespace: string;
  readonly name: string;
  /** The Service's name in the first forward zone. */
  readonly fqdn: Fqdn | undefined;
  readonly type: "ClusterIP" | "Headless" | "ExternalName";
  readonly clusterIPs: readonly string[];
  readonly externalName?: string;
  readonly selector: boolean;
  readonly publishNotReadyAddresses: boolean;
  readonly ports: readonly { readonly name: string; readonly port: number; readonly protocol: string }[];
  /** `podns.io/traffic-split`; `applies` is false while no listed group with a positive percent has endpoints. */
  readonly trafficSplit?: {
    readonly label: string;
    readonly groups: Record<string, number>;
    applies: boolean;
  };
  /** Seconds of slow start: the annotation, else `--slow-start`; 0 is none. */
  readonly slowStartSeconds: number;
  /** Same-zone endpoints are preferred (PreferClose, topology-mode Auto, or `--prefer-same-zone`). */
  readonly preferClose: boolean;
  /** What the Service's own name answers with. */
  readonly answers: "endpoints" | "cluster IP" | "CNAME" | "NXDOMAIN";
  readonly endpoints: readonly EndpointExplanation[];
}

export interface EndpointExplanation {
  /** The per-pod name, while it resolves. */
  readonly name?: Fqdn;
  readonly addresses: readonly string[];
  readonly hostname?: string;
  /** `namespace/name` of the pod. */
  readonly pod?: string;
  readonly node?: string;
  readonly zone?: string;
  /** `hints.forZones`: the zones it serves under topology-aware routing. */
  readonly forZones?: readonly string[];
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  /** `podns.io/weight` of the pod, else the default 100. */
  readonly baseWeight: number;
  /** The relative weight in the Service's answers (traffic split and slow start applied). */
  readonly effectiveWeight?: number;
  /** Percent of its weight reached so far during slow start. */
  readonly slowStartPercent?: number;
  /** SRV weight by port name, as the SRV records carry it. */
  readonly srvWeights?: Record<string, number>;
  /** Percent of the Service's traffic (without zone preference): effective weight over the sum. */
  readonly share: number;
  /** Why the Service's answers leave it out; absent when they carry it. */
  readonly leftOut?: string;
  readonly notes?: readonly string[];
}

export interface ServiceFilter {
  readonly namespace?: string;
  readonly name?: string;
}

/** Every Service that matches `filter`, by namespace and name. */
export function explainServices(
  view: CatalogView,
  filter: ServiceFilter = {},
  now = Date.now(),
): ServiceExplanation[] {
  const out: ServiceExplanation[] = [];
  for (const svc of view.services) {
    if (filter.namespace !== undefined && svc.namespace !== filter.namespace) continue;
    if (filter.name !== undefined && svc.name !== filter.name) continue;
    out.push(explainService(svc, view, now));
  }
  return out.sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));
}

/** Endpoints listed by the EndpointSlices of the Services held. */
export function heldEndpoints(view: CatalogView): number {
  let n = 0;
  for (const svc of view.services) for (const slice of view.slicesOf(svc)) n += slice.endpoints.length;
  return n;
}

/** One endpoint as its slices list it, merged by pod across slices, as synthesis merges it. */
interface Listed {
  readonly key: string;
  readonly first: EndpointInfo;
  readonly addresses: string[];
  ready: boolean;
  readonly fqdn: boolean;
}

interface Published {
  readonly ep: PublishedEndpoint;
  /** The weight without slow start, to tell how far the ramp has come. */
  readonly unramped: number | undefined;
  readonly share: number;
  readonly srv: Record<string, number>;
}

function explainService(svc: ServiceInfo, view: CatalogView, now: number): ServiceExplanation {
  const opts = view.options;
  const zone = opts.zones[0];
  const base = zone === undefined ? undefined : child([svc.name, svc.namespace, "svc"], zone);
  const perEndpoint =
    svc.externalName === undefined && (svc.headless || (opts.clusterIp === "endpoints" && svc.hasSelector));
  const slices = view.slicesOf(svc);
  const published = perEndpoint ? publish(svc, slices, view, now) : new Map<string, Published>();
  const endpoints = listEndpoints(slices).map((listed) =>
    explainEndpoint(svc, view, listed, published.get(listed.key), perEndpoint, base),
  );
  endpoints.sort(
    (a, b) =>
      Number(a.leftOut !== undefined) - Number(b.leftOut !== undefined) ||
      compare(a.name ?? "", b.name ?? "") ||
      compare(a.addresses[0] ?? "", b.addresses[0] ?? ""),
  );
  const split = svc.trafficSplit;
  return {
    namespace: svc.namespace,
    name: svc.name,
    fqdn: base,
    type: svc.externalName !== undefined ? "ExternalName" : svc.headless ? "Headless" : "ClusterIP",
    clusterIPs: svc.clusterIPs,
    ...(svc.externalName === undefined ? {} : { externalName: svc.externalName }),
    selector: svc.hasSelector,
    publishNotReadyAddresses: svc.publishNotReady,
    ports: svc.ports,
    ...(split === undefined
      ? {}
      : {
          trafficSplit: {
            label: split.labelKey,
            groups: Object.fromEntries(split.groups),
            applies: [...published.values()].some((p) => inPositiveGroup(svc, view, p.ep)),
          },
        }),
    slowStartSeconds: svc.slowStart ?? opts.slowStart ?? 0,
    preferClose: svc.preferClose || opts.preferSameZone === true,
    answers: answers(svc, perEndpoint, published.size),
    endpoints,
  };
}

/** The endpoints synthesis publishes, by key, with their shares and SRV weights. */
function publish(
  svc: ServiceInfo,
  slices: readonly SliceInfo[],
  view: CatalogView,
  now: number,
): Map<string, Published> {
  const serviceKey = `${svc.namespace}/${svc.name}`;
  const ctx: SynthesisContext = {
    now,
    pod: (key) => view.pod(key),
    firstReady: (key) => view.firstReady?.(serviceKey, key) ?? 0,
  };
  const opts = view.options;
  const eps = publishedEndpoints(svc, slices, ctx, opts).endpoints;
  const ramping = (svc.slowStart ?? opts.slowStart ?? 0) > 0;
  const unramped = ramping
    ? publishedEndpoints({ ...svc, slowStart: 0 }, slices, ctx, { ...opts, slowStart: 0 }).endpoints
    : eps;
  const members = eps.filter((ep) => ep.weight !== undefined);
  const total = members.reduce((sum, ep) => sum + ep.weight!, 0);
  const srv = new Map<string, Record<string, number>>(eps.map((ep) => [ep.key, {}]));
  for (const port of svc.ports) {
    if (port.name === "") continue;
    const carrying = members.filter((ep) => ep.ports.has(port.name));
    const weights = encodeSrvWeights(carrying.map((ep) => ep.weight!));
    carrying.forEach((ep, i) => {
      srv.get(ep.key)![port.name] = weights[i]!;
    });
  }
  const out = new Map<string, Published>();
  eps.forEach((ep, i) => {
    const share = ep.weight === undefined ? 0 : total > 0 ? (100 * ep.weight) / total : 100 / members.length;
    out.set(ep.key, { ep, unramped: unramped[i]?.weight, share, srv: srv.get(ep.key)! });
  });
  return out;
}

/** Every endpoint of the slices, merged by pod (else first address) as synthesis merges them. */
function listEndpoints(slices: readonly SliceInfo[]): Listed[] {
  const byKey = new Map<string, Listed>();
  for (const slice of slices) {
    for (const ep of slice.endpoints) {
      const key = ep.pod ?? `address/${ep.addresses[0]}`;
      let listed = byKey.get(key);
      if (listed === undefined) {
        listed = { key, first: ep, addresses: [], ready: false, fqdn: slice.addressType === "FQDN" };
        byKey.set(key, listed);
      }
      listed.ready ||= ep.ready;
      for (const a of ep.addresses) if (!listed.addresses.includes(a)) listed.addresses.push(a);
    }
  }
  return [...byKey.values()];
}

function explainEndpoint(
  svc: ServiceInfo,
  view: CatalogView,
  listed: Listed,
  published: Published | undefined,
  perEndpoint: boolean,
  base: Fqdn | undefined,
): EndpointExplanation {
  const ep = listed.first;
  const pod = ep.pod === undefined ? undefined : view.pod(ep.pod);
  const node = ep.nodeName ?? pod?.nodeName;
  const zone = ep.zone ?? (node === undefined ? undefined : view.node(node)?.zone);
  const leftOut = leftOutReason(svc, view, listed, published, perEndpoint);
  const weight = published?.ep.weight;
  const notes = notesOf(svc, listed, published, pod);
  return {
    ...(published === undefined || base === undefined ? {} : { name: child([published.ep.label], base) }),
    addresses: listed.addresses,
    ...(ep.hostname === undefined ? {} : { hostname: ep.hostname }),
    ...(ep.pod === undefined ? {} : { pod: ep.pod }),
    ...(node === undefined ? {} : { node }),
    ...(zone === undefined ? {} : { zone }),
    ...(ep.forZones === undefined ? {} : { forZones: ep.forZones }),
    ready: listed.ready,
    serving: ep.serving,
    terminating: ep.terminating,
    baseWeight: pod?.weight ?? DEFAULT_WEIGHT,
    ...(weight === undefined ? {} : { effectiveWeight: Number(weight.toPrecision(6)) }),
    ...slowStartOf(published),
    ...(published === undefined || leftOut !== undefined ? {} : { srvWeights: published.srv }),
    share: Math.round((published?.share ?? 0) * 10) / 10,
    ...(leftOut === undefined ? {} : { leftOut }),
    ...(notes.length === 0 ? {} : { notes }),
  };
}

function slowStartOf(published: Published | undefined): { slowStartPercent?: number } {
  const weight = published?.ep.weight;
  const full = published?.unramped;
  if (weight === undefined || full === undefined || full <= 0 || weight >= full) return {};
  return { slowStartPercent: Math.round((1000 * weight) / full) / 10 };
}

/** Why the Service's answers do not carry this endpoint; undefined when they do. */
function leftOutReason(
  svc: ServiceInfo,
  view: CatalogView,
  listed: Listed,
  published: Published | undefined,
  perEndpoint: boolean,
): string | undefined {
  if (svc.externalName !== undefined) return "an ExternalName Service answers with a CNAME, not endpoints";
  if (listed.fqdn) return "an FQDN EndpointSlice: podns publishes only IPv4 and IPv6 endpoints";
  if (!perEndpoint) {
    return view.options.clusterIp === "vip"
      ? "--cluster-ip vip: the Service answers with its cluster IP"
      : "a Service without a selector answers with its cluster IP";
  }
  if (published === undefined) {
    const ep = listed.first;
    if (ep.terminating && ep.serving) return "terminating (draining) while other endpoints are ready";
    if (ep.terminating) return "terminating and no longer serving";
    return "not ready";
  }
  if (published.ep.weight === undefined) return splitReason(svc, view, published.ep);
  return undefined;
}

/** Why a traffic split leaves a published endpoint out: its group is not listed, or is at 0%. */
function splitReason(svc: ServiceInfo, view: CatalogView, ep: PublishedEndpoint): string {
  const split = svc.trafficSplit!;
  const value = ep.key.startsWith("address/") ? undefined : view.pod(ep.key)?.labels[split.labelKey];
  if (value === undefined) return `no label ${split.labelKey}: in no traffic-split group`;
  if (!split.groups.has(value)) return `${split.labelKey}=${value} is in no traffic-split group`;
  return `traffic-split group ${split.labelKey}=${value} is at 0%`;
}

function inPositiveGroup(svc: ServiceInfo, view: CatalogView, ep: PublishedEndpoint): boolean {
  const split = svc.trafficSplit!;
  const value = ep.key.startsWith("address/") ? undefined : view.pod(ep.key)?.labels[split.labelKey];
  return value !== undefined && (split.groups.get(value) ?? 0) > 0;
}

/** Things worth knowing about an endpoint that its answers do carry. */
function notesOf(
  svc: ServiceInfo,
  listed: Listed,
  published: Published | undefined,
  pod: PodInfo | undefined,
): string[] {
  if (published === undefined || published.ep.weight === undefined) return [];
  const notes: string[] = [];
  if (published.ep.draining) {
    notes.push("draining: terminating but serving, published because no endpoint is ready");
  } else if (!listed.ready) {
    notes.push("not ready, published by publishNotReadyAddresses");
  }
  if (listed.first.pod !== undefined && pod === undefined) {
    notes.push(`pod ${listed.first.pod} is not known: default weight, no labels`);
  }
  if (pod?.weight === 0) notes.push("podns.io/weight is 0: asks for no traffic");
  for (const port of svc.ports) {
    if (port.name !== "" && !published.ep.ports.has(port.name)) {
      notes.push(
        `no SRV record for _${port.name}._${port.protocol}: its EndpointSlice has no port ${port.name}`,
      );
    }
  }
  if (svc.ports.length > 0 && svc.ports.every((p) => p.name === "")) {
    notes.push("no SRV records: the Service has no named port");
  }
  return notes;
}

function answers(svc: ServiceInfo, perEndpoint: boolean, published: number): ServiceExplanation["answers"] {
  if (svc.externalName !== undefined) return "CNAME";
  if (perEndpoint && published > 0) return "endpoints";
  return svc.headless ? "NXDOMAIN" : "cluster IP";
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
