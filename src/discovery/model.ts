import type { TrafficSplit } from "./traffic-split.js";

/**
 * The slim records podns keeps of Kubernetes objects: only the fields that shape DNS answers, converted once when an
 * event arrives (see k8s/convert.ts). Every extra field here costs memory for every object in the cluster.
 */

/** core/v1 ServicePort: `name`, `port`, `protocol`. */
export interface ServicePort {
  readonly name: string;
  readonly port: number;
  /** Lowercase transport for SRV owner names: `tcp`, `udp` or `sctp`. */
  readonly protocol: string;
}

/** core/v1 Service. */
export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  /** `spec.type === "ExternalName"`: the `spec.externalName` target. */
  readonly externalName: string | undefined;
  /** `spec.clusterIP === "None"`. */
  readonly headless: boolean;
  /** `spec.clusterIPs` (or `spec.clusterIP`), without "None". */
  readonly clusterIPs: readonly string[];
  /** `spec.selector` is non-empty: endpoints are managed by Kubernetes. */
  readonly hasSelector: boolean;
  /** `spec.publishNotReadyAddresses`. */
  readonly publishNotReady: boolean;
  readonly ports: readonly ServicePort[];
  /** Annotation `podns.io/traffic-split`, parsed; undefined when absent or invalid. */
  readonly trafficSplit: TrafficSplit | undefined;
  /** Annotation `podns.io/slow-start` in seconds; undefined when absent or invalid (the `--slow-start` default applies). */
  readonly slowStart: number | undefined;
  /** `spec.trafficDistribution: PreferClose` or annotation `service.kubernetes.io/topology-mode: Auto`. */
  readonly preferClose: boolean;
}

/** discovery.k8s.io/v1 EndpointPort. An unnamed port has name "". */
export interface EndpointPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
}

/** discovery.k8s.io/v1 Endpoint, slimmed. */
export interface EndpointInfo {
  readonly addresses: readonly string[];
  readonly hostname: string | undefined;
  /** `conditions.ready`: true or unset counts as ready (EndpointSlice API). */
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName: string | undefined;
  readonly zone: string | undefined;
  /** `hints.forZones[].name`: the zones this endpoint should serve; undefined without hints. */
  readonly forZones: readonly string[] | undefined;
  /** `targetRef` of kind Pod, as `namespace/name`. */
  readonly pod: string | undefined;
}

/** discovery.k8s.io/v1 EndpointSlice, owned by the Service named in the `kubernetes.io/service-name` label. */
export interface SliceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly service: string;
  readonly addressType: "IPv4" | "IPv6" | "FQDN";
  readonly ports: readonly EndpointPort[];
  readonly endpoints: readonly EndpointInfo[];
}

/** core/v1 Pod, only what weights and zone preference need. */
export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  /** Annotation `podns.io/weight`, validated (0..65535); undefined when absent or invalid. */
  readonly weight: number | undefined;
  /** `metadata.labels`, for traffic splits. */
  readonly labels: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch: `lastTransitionTime` of the Ready condition when it is True. */
  readonly readySince: number | undefined;
  /** `status.podIPs` (or `status.podIP`), canonical: finds the topology zone of a querier. */
  readonly ips: readonly string[];
  /** `spec.nodeName`. */
  readonly nodeName: string | undefined;
}

/** core/v1 Node: only its name and topology zone. */
export interface NodeInfo {
  readonly name: string;
  /** Label `topology.kubernetes.io/zone`. */
  readonly zone: string | undefined;
}
