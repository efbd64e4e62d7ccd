/**
 * Conversion of Kubernetes objects (raw JSON from a watch or a manifest file, or client-node's typed models from a
 * list: both use the API's field names) into the slim records of discovery/model.ts. Invalid fields are dropped
 * here, once, so that nothing downstream has to check them again.
 */

import { isIPv4, isIPv6 } from "node:net";
import type {
  EndpointInfo,
  NodeInfo,
  PodInfo,
  ServiceInfo,
  ServicePort,
  SliceInfo,
} from "../discovery/model.js";
import {
  parseTrafficSplit,
  TRAFFIC_SPLIT_ANNOTATION,
  type TrafficSplit,
} from "../discovery/traffic-split.js";
import { parseWeightAnnotation } from "../discovery/weights.js";
import { canonicalAddress } from "../dns/address.js";

/** The annotation that sets a pod's relative weight. */
export const WEIGHT_ANNOTATION = "podns.io/weight";
/** Service annotation: seconds over which a newly ready endpoint's weight ramps from 10% to 100%. */
export const SLOW_START_ANNOTATION = "podns.io/slow-start";
/** The Service annotation of Kubernetes topology-aware routing (before `spec.trafficDistribution`). */
export const TOPOLOGY_MODE_ANNOTATION = "service.kubernetes.io/topology-mode";
/** The Node label naming its topology zone. */
export const ZONE_LABEL = "topology.kubernetes.io/zone";
/** The label linking an EndpointSlice to its Service (discovery.k8s.io/v1). */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

/** Reports a field that was ignored; the caller decides how often to log it. */
export type Warn = (key: string, message: string) => void;

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects arrive as untyped JSON or client-node models.
type Obj = any;

export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
}

export function refOf(obj: Obj): ObjectRef | undefined {
  const name = obj?.metadata?.name;
  if (typeof name !== "string" || name === "") return undefined;
  const namespace = typeof obj.metadata.namespace === "string" ? obj.metadata.namespace : "";
  return { namespace, name };
}

/** RFC 1035 label as Kubernetes validates Service names (DNS-1035: lowercase, starts with a letter). */
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 1123 label as Kubernetes validates namespaces and port names; a port name must leave room for `_`. */
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** An ExternalName: ASCII labels of at most 63 octets (podns writes names as ASCII on the wire). */
const ASCII_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?)*\.?$/;
const PROTOCOLS = ["tcp", "udp", "sctp"];

/**
 * A Service or slice whose names could not come from the API server would collide with other records (a Service
 * named `_http._tcp.web`): it is ignored with one warning, as the API server would have refused it.
 */
function validNames(kind: string, ref: ObjectRef, service: string, warn: Warn): boolean {
  if (DNS_1123_LABEL.test(ref.namespace) && DNS_1035_LABEL.test(service)) return true;
  warn(
    `${kind}/${ref.namespace}/${ref.name}/names`,
    `${kind.toLowerCase()} ${ref.namespace}/${ref.name}: ignored: the namespace or Service name is not a valid DNS label`,
  );
  return false;
}

export function toService(obj: Obj, warn: Warn): ServiceInfo | undefined {
  const ref = refOf(obj);
  const spec = obj?.spec;
  if (ref === undefined || spec === undefined || spec === null) return undefined;
  if (!validNames("Service", ref, ref.name, warn)) return undefined;
  const isExternal = spec.type === "ExternalName";
  const ips: string[] = [];
  const rawIps: unknown[] = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [spec.clusterIP];
  for (const ip of rawIps) {
    const canonical = typeof ip === "string" ? canonicalAddress(ip) : undefined;
    if (canonical !== undefined && !ips.includes(canonical)) ips.push(canonical);
  }
  return {
    namespace: ref.namespace,
    name: ref.name,
    externalName: isExternal ? externalNameOf(spec.externalName, ref, warn) : undefined,
    headless: !isExternal && spec.clusterIP === "None",
    clusterIPs: isExternal ? [] : ips,
    hasSelector:
      spec.selector !== undefined && spec.selector !== null && Object.keys(spec.selector).length > 0,
    publishNotReady: spec.publishNotReadyAddresses === true,
    ports: (Array.isArray(spec.ports) ? spec.ports : [])
      .map((p: Obj) => toPort(p, ref, warn))
      .filter(isDefined),
    trafficSplit: trafficSplitOf(obj, ref, warn),
    slowStart: slowStartOf(obj, ref, warn),
    preferClose:
      spec.trafficDistribution === "PreferClose" ||
      obj.metadata?.annotations?.[TOPOLOGY_MODE_ANNOTATION] === "Auto",
  };
}

function trafficSplitOf(obj: Obj, ref: ObjectRef, warn: Warn): TrafficSplit | undefined {
  const raw = obj.metadata?.annotations?.[TRAFFIC_SPLIT_ANNOTATION];
  if (raw === undefined) return undefined;
  const parsed = typeof raw === "string" ? parseTrafficSplit(raw) : "not a string";
  if (typeof parsed !== "string") return parsed;
  warn(
    `Service/${ref.namespace}/${ref.name}/${TRAFFIC_SPLIT_ANNOTATION}/${raw}`,
    `service ${ref.namespace}/${ref.name}: ignoring ${TRAFFIC_SPLIT_ANNOTATION}: ${parsed}; equal weights apply`,
  );
  return undefined;
}

function slowStartOf(obj: Obj, ref: ObjectRef, warn: Warn): number | undefined {
  const raw = obj.metadata?.annotations?.[SLOW_START_ANNOTATION];
  if (raw === undefined) return undefined;
  if (typeof raw === "string" && /^\s*\d{1,6}\s*$/.test(raw)) return Number(raw);
  warn(
    `Service/${ref.namespace}/${ref.name}/${SLOW_START_ANNOTATION}/${raw}`,
    `service ${ref.namespace}/${ref.name}: ignoring ${SLOW_START_ANNOTATION}=${JSON.stringify(raw)}: not whole seconds`,
  );
  return undefined;
}

function externalNameOf(value: unknown, ref: ObjectRef, warn: Warn): string | undefined {
  if (typeof value === "string" && ASCII_NAME.test(value)) return value;
  warn(
    `Service/${ref.namespace}/${ref.name}/externalName`,
    `service ${ref.namespace}/${ref.name}: ignoring externalName ${JSON.stringify(value)}: not an ASCII domain name`,
  );
  return undefined;
}

/**
 * A Service or EndpointSlice port. A port whose name cannot form an SRV owner label (`_<name>`, RFC 2782) counts as
 * unnamed, with one warning; a port number or protocol out of range drops the port.
 */
function toPort(p: Obj, ref: ObjectRef, warn: Warn): ServicePort | undefined {
  const port = Number(p?.port);
  const protocol = typeof p?.protocol === "string" && p.protocol !== "" ? p.protocol.toLowerCase() : "tcp";
  if (!Number.isInteger(port) || port < 1 || port > 65_535 || !PROTOCOLS.includes(protocol)) return undefined;
  let name = typeof p.name === "string" ? p.name : "";
  if (name !== "" && (name.length > 62 || !DNS_1123_LABEL.test(name))) {
    warn(
      `${ref.namespace}/${ref.name}/port/${name}`,
      `${ref.namespace}/${ref.name}: port name ${JSON.stringify(name)} is not a DNS label of at most 62 characters; no SRV records for it`,
    );
    name = "";
  }
  return { name, port, protocol };
}

export function toSlice(obj: Obj, warn: Warn = () => {}): SliceInfo | undefined {
  const ref = refOf(obj);
  const service = obj?.metadata?.labels?.[SERVICE_NAME_LABEL];
  if (ref === undefined || typeof service !== "string" || service === "") return undefined;
  if (!validNames("EndpointSlice", ref, service, warn)) return undefined;
  const addressType = obj.addressType;
  if (addressType !== "IPv4" && addressType !== "IPv6" && addressType !== "FQDN") return undefined;
  const ports = (Array.isArray(obj.ports) ? obj.ports : [])
    .map((p: Obj) => toPort(p, ref, warn))
    .filter(isDefined);
  const endpoints = (Array.isArray(obj.endpoints) ? obj.endpoints : [])
    .map((ep: Obj) => toEndpoint(ep, addressType, ref.namespace))
    .filter(isDefined)
    .slice();
  return { namespace: ref.namespace, name: ref.name, service, addressType, ports, endpoints };
}

/** An address of the slice's family, canonical; no zone index (`%eth0`) and not the unspecified address. */
function endpointAddress(text: string, addressType: string): string | undefined {
  if (text.includes("%") || (addressType === "IPv4" ? !isIPv4(text) : !isIPv6(text))) return undefined;
  const canonical = canonicalAddress(text);
  return canonical === "0.0.0.0" || canonical === "::" ? undefined : canonical;
}

function toEndpoint(ep: Obj, addressType: string, namespace: string): EndpointInfo | undefined {
  if (addressType === "FQDN") return undefined;
  const addresses: string[] = [];
  for (const a of Array.isArray(ep?.addresses) ? ep.addresses : []) {
    const canonical = typeof a === "string" ? endpointAddress(a, addressType) : undefined;
    if (canonical !== undefined && !addresses.includes(canonical)) addresses.push(canonical);
  }
  if (addresses.length === 0) return undefined;
  const c = ep.conditions ?? {};
  const ref = ep.targetRef;
  // ObjectReference.namespace is optional; hand-written slices often leave it out for a pod of their own namespace.
  const podNamespace = typeof ref?.namespace === "string" && ref.namespace !== "" ? ref.namespace : namespace;
  // join: one flat string, not a ConsString of three (there is one per endpoint; see discovery/names.ts flatName).
  const pod =
    ref?.kind === "Pod" && typeof ref.name === "string" ? [podNamespace, ref.name].join("/") : undefined;
  return {
    // slice(): an array grown by push keeps room for 16 more; a copy is exact, and there is one per endpoint.
    addresses: addresses.slice(),
    hostname: typeof ep.hostname === "string" && ep.hostname !== "" ? ep.hostname : undefined,
    ready: c.ready !== false,
    serving: c.serving ?? c.ready !== false,
    terminating: c.terminating === true,
    nodeName: typeof ep.nodeName === "string" ? ep.nodeName : undefined,
    zone: typeof ep.zone === "string" ? ep.zone : undefined,
    forZones: Array.isArray(ep.hints?.forZones)
      ? ep.hints.forZones.map((z: Obj) => z?.name).filter((z: unknown) => typeof z === "string")
      : undefined,
    pod,
  };
}

export function toPod(obj: Obj, warn: Warn): PodInfo | undefined {
  const ref = refOf(obj);
  if (ref === undefined) return undefined;
  const raw = obj.metadata?.annotations?.[WEIGHT_ANNOTATION];
  const weight = parseWeightAnnotation(raw);
  if (raw !== undefined && weight === undefined) {
    warn(
      `${ref.namespace}/${ref.name}/${WEIGHT_ANNOTATION}`,
      `pod ${ref.namespace}/${ref.name}: ignoring ${WEIGHT_ANNOTATION}=${JSON.stringify(raw)}: not an integer 0-65535`,
    );
  }
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj.metadata?.labels ?? {})) if (typeof v === "string") labels[k] = v;
  return {
    namespace: ref.namespace,
    name: ref.name,
    weight,
    labels: sharedLabels(labels),
    readySince: readySinceOf(obj.status?.conditions),
    ips: podIps(obj.status).slice(),
    nodeName: typeof obj.spec?.nodeName === "string" ? obj.spec.nodeName : undefined,
  };
}

/**
 * Label sets of recent pods, by their JSON. The pods of one ReplicaSet carry the same labels and arrive together
 * (a list is ordered by name), so they share one object instead of one each; bounded, and emptied when full.
 */
const recentLabels = new Map<string, Readonly<Record<string, string>>>();
const RECENT_LABEL_SETS = 1024;

function sharedLabels(labels: Record<string, string>): Readonly<Record<string, string>> {
  const key = JSON.stringify(labels);
  const known = recentLabels.get(key);
  if (known !== undefined) return known;
  if (recentLabels.size >= RECENT_LABEL_SETS) recentLabels.clear();
  recentLabels.set(key, labels);
  return labels;
}

/** `lastTransitionTime` of a True Ready condition: a Date in client-node models, an RFC 3339 string in JSON. */
function readySinceOf(conditions: unknown): number | undefined {
  if (!Array.isArray(conditions)) return undefined;
  const ready = conditions.find((c: Obj) => c?.type === "Ready");
  if (ready?.status !== "True" || ready.lastTransitionTime === undefined) return undefined;
  const ms = new Date(ready.lastTransitionTime).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

function podIps(status: Obj): string[] {
  const raw: unknown[] = Array.isArray(status?.podIPs)
    ? status.podIPs.map((p: Obj) => p?.ip)
    : [status?.podIP];
  const ips: string[] = [];
  for (const ip of raw) {
    const canonical = typeof ip === "string" ? canonicalAddress(ip) : undefined;
    if (canonical !== undefined && !ips.includes(canonical)) ips.push(canonical);
  }
  return ips;
}

export function toNode(obj: Obj): NodeInfo | undefined {
  const ref = refOf(obj);
  if (ref === undefined) return undefined;
  const zone = obj.metadata?.labels?.[ZONE_LABEL];
  return { name: ref.name, zone: typeof zone === "string" && zone !== "" ? zone : undefined };
}

function isDefined<T>(v: T | undefined): v is T {
  return v !== undefined;
}
