/**
 * Conversion of Kubernetes objects (raw JSON from a watch or a manifest file, or client-node's typed models from a
 * list: both use the API's field names) into the slim records of discovery/model.ts. Invalid fields are dropped
 * here, once, so that nothing downstream has to check them again.
 */

import type {
  EndpointInfo,
  EndpointPort,
  PodInfo,
  ServiceInfo,
  ServicePort,
  SliceInfo,
} from "../discovery/model.js";
import { parseWeightAnnotation } from "../discovery/weights.js";
import { canonicalAddress } from "../dns/address.js";

/** The annotation that sets a pod's relative weight. */
export const WEIGHT_ANNOTATION = "podns.io/weight";
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

export function toService(obj: Obj): ServiceInfo | undefined {
  const ref = refOf(obj);
  const spec = obj?.spec;
  if (ref === undefined || spec === undefined || spec === null) return undefined;
  const isExternal = spec.type === "ExternalName";
  const ips: string[] = [];
  const rawIps: unknown[] = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [spec.clusterIP];
  for (const ip of rawIps) {
    const canonical = typeof ip === "string" ? canonicalAddress(ip) : undefined;
    if (canonical !== undefined && !ips.includes(canonical)) ips.push(canonical);
  }
  return {
    namespace: ref.namespace,
    name: ref.name.toLowerCase(),
    externalName: isExternal && typeof spec.externalName === "string" ? spec.externalName : undefined,
    headless: !isExternal && spec.clusterIP === "None",
    clusterIPs: isExternal ? [] : ips,
    hasSelector:
      spec.selector !== undefined && spec.selector !== null && Object.keys(spec.selector).length > 0,
    publishNotReady: spec.publishNotReadyAddresses === true,
    ports: (Array.isArray(spec.ports) ? spec.ports : []).map(toServicePort).filter(isDefined),
  };
}

function toServicePort(p: Obj): ServicePort | undefined {
  const port = Number(p?.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  return {
    name: typeof p.name === "string" ? p.name.toLowerCase() : "",
    port,
    protocol: protocolOf(p.protocol),
  };
}

function protocolOf(value: unknown): string {
  return typeof value === "string" && value !== "" ? value.toLowerCase() : "tcp";
}

export function toSlice(obj: Obj): SliceInfo | undefined {
  const ref = refOf(obj);
  const service = obj?.metadata?.labels?.[SERVICE_NAME_LABEL];
  if (ref === undefined || typeof service !== "string" || service === "") return undefined;
  const addressType = obj.addressType;
  if (addressType !== "IPv4" && addressType !== "IPv6" && addressType !== "FQDN") return undefined;
  const ports: EndpointPort[] = [];
  for (const p of Array.isArray(obj.ports) ? obj.ports : []) {
    const port = Number(p?.port);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) continue;
    ports.push({
      name: typeof p.name === "string" ? p.name.toLowerCase() : "",
      port,
      protocol: protocolOf(p.protocol),
    });
  }
  const endpoints = (Array.isArray(obj.endpoints) ? obj.endpoints : [])
    .map((ep: Obj) => toEndpoint(ep, addressType, ref.namespace))
    .filter(isDefined);
  return {
    namespace: ref.namespace,
    name: ref.name,
    service: service.toLowerCase(),
    addressType,
    ports,
    endpoints,
  };
}

function toEndpoint(ep: Obj, addressType: string, namespace: string): EndpointInfo | undefined {
  if (addressType === "FQDN") return undefined;
  const addresses: string[] = [];
  for (const a of Array.isArray(ep?.addresses) ? ep.addresses : []) {
    const canonical = typeof a === "string" ? canonicalAddress(a) : undefined;
    if (canonical !== undefined) addresses.push(canonical);
  }
  if (addresses.length === 0) return undefined;
  const c = ep.conditions ?? {};
  const ref = ep.targetRef;
  // ObjectReference.namespace is optional; hand-written slices often leave it out for a pod of their own namespace.
  const podNamespace = typeof ref?.namespace === "string" && ref.namespace !== "" ? ref.namespace : namespace;
  const pod = ref?.kind === "Pod" && typeof ref.name === "string" ? `${podNamespace}/${ref.name}` : undefined;
  return {
    addresses,
    hostname: typeof ep.hostname === "string" && ep.hostname !== "" ? ep.hostname : undefined,
    ready: c.ready !== false,
    serving: c.serving ?? c.ready !== false,
    terminating: c.terminating === true,
    nodeName: typeof ep.nodeName === "string" ? ep.nodeName : undefined,
    zone: typeof ep.zone === "string" ? ep.zone : undefined,
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
  return { namespace: ref.namespace, name: ref.name, weight };
}

function isDefined<T>(v: T | undefined): v is T {
  return v !== undefined;
}
