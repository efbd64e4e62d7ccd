/**
 * A synthetic cluster in the fake API server: N headless Services with a selector, each with M ready endpoints in
 * EndpointSlices of at most 100 endpoints (the EndpointSlice controller's default), and one Pod per endpoint. One
 * pod in ten carries a `podns.io/weight` annotation, so SRV weights are not all equal. 100 Services per namespace.
 */
import type { FakeApiServer } from "../test/support/fake-apiserver.js";
import type { ClusterSize } from "./options.js";

export const ZONE = "cluster.local";
const SERVICES_PER_NAMESPACE = 100;
const ENDPOINTS_PER_SLICE = 100;

export class SyntheticCluster {
  /** Current endpoint addresses of each Service. */
  private readonly addresses: string[][] = [];
  private nextAddress = 1;

  constructor(
    private readonly fake: FakeApiServer,
    readonly size: ClusterSize,
  ) {}

  /** Applies every object; the API server's history then holds the whole cluster. */
  populate(): void {
    for (let s = 0; s < this.size.services; s++) {
      const list: string[] = [];
      for (let e = 0; e < this.size.endpoints; e++) list.push(addressOf(this.nextAddress++));
      this.addresses.push(list);
      this.fake.apply(service(s));
      for (let e = 0; e < list.length; e++) this.fake.apply(pod(s, e, list[e]!));
      for (let k = 0; k * ENDPOINTS_PER_SLICE < list.length; k++) this.fake.apply(this.slice(s, k));
    }
  }

  /** Moves one endpoint of a Service to a fresh address (as when its pod is replaced); returns the new address. */
  replaceEndpoint(s: number, e: number): string {
    const address = addressOf(this.nextAddress++);
    this.addresses[s]![e] = address;
    this.fake.apply(this.slice(s, Math.floor(e / ENDPOINTS_PER_SLICE)));
    return address;
  }

  /** Services, EndpointSlices and Pods applied by populate(). */
  objectCount(): number {
    const { services, endpoints } = this.size;
    return services * (1 + Math.ceil(endpoints / ENDPOINTS_PER_SLICE) + endpoints);
  }

  endpointAddress(s: number, e: number): string {
    return this.addresses[s]![e]!;
  }

  private slice(s: number, k: number): object {
    const ns = namespaceOf(s);
    const name = serviceLabel(s);
    const first = k * ENDPOINTS_PER_SLICE;
    const addresses = this.addresses[s]!.slice(first, first + ENDPOINTS_PER_SLICE);
    return {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `${name}-${k.toString(36).padStart(5, "x")}`,
        namespace: ns,
        labels: { "kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "bench" },
      },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: addresses.map((address, i) => ({
        addresses: [address],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: `node-${(first + i) % 50}`,
        targetRef: { kind: "Pod", namespace: ns, name: podLabel(s, first + i) },
      })),
    };
  }
}

export function namespaceOf(s: number): string {
  return `ns-${Math.floor(s / SERVICES_PER_NAMESPACE)}`;
}

function serviceLabel(s: number): string {
  return `svc-${s}`;
}

/** `<svc>.<ns>.svc.<zone>` */
export function serviceName(s: number): string {
  return `${serviceLabel(s)}.${namespaceOf(s)}.svc.${ZONE}`;
}

/** `_http._tcp.<svc>.<ns>.svc.<zone>` */
export function srvName(s: number): string {
  return `_http._tcp.${serviceName(s)}`;
}

/** `<a-b-c-d>.<svc>.<ns>.svc.<zone>`: the per-pod name derived from an IPv4 address. */
export function podName(s: number, address: string): string {
  return `${address.replaceAll(".", "-")}.${serviceName(s)}`;
}

/** Distinct addresses in 10.64.0.0/10: 4 million before they run out. */
function addressOf(n: number): string {
  return `10.${64 + (n >>> 16)}.${(n >>> 8) & 255}.${n & 255}`;
}

function podLabel(s: number, e: number): string {
  return `${serviceLabel(s)}-${e}`;
}

function service(s: number): object {
  const name = serviceLabel(s);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: namespaceOf(s), labels: { app: name } },
    spec: {
      clusterIP: "None",
      clusterIPs: ["None"],
      selector: { app: name },
      ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }],
      type: "ClusterIP",
    },
  };
}

function pod(s: number, e: number, address: string): object {
  const name = serviceLabel(s);
  const annotations: Record<string, string> = e % 10 === 0 ? { "podns.io/weight": "200" } : {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: podLabel(s, e),
      namespace: namespaceOf(s),
      labels: { app: name, "pod-template-hash": "5d8f7c9b6" },
      annotations,
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: `${name}-5d8f7c9b6`, uid: "0", controller: true },
      ],
    },
    spec: {
      nodeName: `node-${e % 50}`,
      containers: [{ name: "app", image: "registry.example/app:1.0", ports: [{ containerPort: 8080 }] }],
    },
    status: { phase: "Running", podIP: address, podIPs: [{ ip: address }] },
  };
}
