/**
 * Prometheus metrics (prom-client). Counters on the query path are resolved to label-bound children once per
 * (qtype, rcode, transport) and kept in a Map, so that a query costs a Map lookup and an increment.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { rcodeName, typeName } from "../dns/constants.js";
import type { QueryObserver, Transport } from "../server/handler.js";

/** Types outside podns's table share one label value, so clients cannot grow the series without bound. */
function qtypeLabel(qtype: number): string {
  if (qtype === 0) return "none";
  const name = typeName(qtype);
  return name.startsWith("TYPE") ? "other" : name;
}

export class Metrics implements QueryObserver {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "podns_dns_requests_total",
    help: "DNS queries answered, by qtype, rcode and transport.",
    labelNames: ["qtype", "rcode", "transport"] as const,
    registers: [this.registry],
  });
  private readonly responseBytes = new Histogram({
    name: "podns_dns_response_size_bytes",
    help: "Size of DNS responses in bytes.",
    labelNames: ["transport"] as const,
    buckets: [64, 128, 256, 512, 1024, 1232, 4096, 16_384, 65_535],
    registers: [this.registry],
  });
  private readonly cacheHits = new Counter({
    name: "podns_dns_cache_hits_total",
    help: "Responses served from the encoded-response cache.",
    registers: [this.registry],
  });
  private readonly drops = new Counter({
    name: "podns_dns_dropped_total",
    help: "Messages not answered, by reason.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly watchEvents = new Counter({
    name: "podns_watch_events_total",
    help: "Kubernetes watch and list events, by kind and type.",
    labelNames: ["kind", "type"] as const,
    registers: [this.registry],
  });
  readonly watchErrors = new Counter({
    name: "podns_watch_errors_total",
    help: "Kubernetes list/watch failures, by kind.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly objects = new Gauge({
    name: "podns_objects",
    help: "Kubernetes objects held, by kind.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly serial = new Gauge({
    name: "podns_zone_serial",
    help: "SOA serial of the served data.",
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: "podns_reloads_total",
    help: "Re-reads of manifest and zone files, by result.",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  private readonly bound = new Map<number, { inc(): void }>();
  private readonly sizeBound = new Map<Transport, { observe(v: number): void }>();

  observe(qtype: number, rcode: number, transport: Transport, bytes: number, cached: boolean): void {
    const known = typeName(qtype).startsWith("TYPE") ? 0xffff : qtype;
    const key = (known << 8) | (rcode << 1) | (transport === "tcp" ? 1 : 0);
    let child = this.bound.get(key);
    if (child === undefined) {
      child = this.requests.labels(qtypeLabel(qtype), rcodeName(rcode), transport);
      this.bound.set(key, child);
    }
    child.inc();
    let size = this.sizeBound.get(transport);
    if (size === undefined) {
      size = this.responseBytes.labels(transport);
      this.sizeBound.set(transport, size);
    }
    size.observe(bytes);
    if (cached) this.cacheHits.inc();
  }

  dropped(reason: "malformed" | "response" | "internal"): void {
    this.drops.labels(reason).inc();
  }
}
