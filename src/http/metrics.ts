/**
 * Prometheus metrics (prom-client). The query path only adds to plain tallies: prom-client's label hashing and
 * histogram search cost about 30% of a cached answer in a profile of the handler, so its metrics are brought up to
 * date from the tallies when Prometheus scrapes (`collect`), and the response-size histogram is a small collector
 * of podns's own.
 */
import { Counter, Gauge, Registry } from "prom-client";
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
  /** Answers since the last scrape by (qtype, rcode, transport), with their label values. */
  private readonly tallies = new Map<number, { labels: [string, string, string]; n: number }>();
  private readonly sizes = new SizeHistogram(
    "podns_dns_response_size_bytes",
    "Size of DNS responses in bytes.",
  );
  private pendingHits = 0;
  private readonly requests = new Counter({
    name: "podns_dns_requests_total",
    help: "DNS queries answered, by qtype, rcode and transport.",
    labelNames: ["qtype", "rcode", "transport"] as const,
    registers: [this.registry],
    collect: () => {
      for (const t of this.tallies.values()) {
        if (t.n === 0) continue;
        this.requests.labels(...t.labels).inc(t.n);
        t.n = 0;
      }
    },
  });
  private readonly cacheHits = new Counter({
    name: "podns_dns_cache_hits_total",
    help: "Responses served from the encoded-response cache.",
    registers: [this.registry],
    collect: () => {
      this.cacheHits.inc(this.pendingHits);
      this.pendingHits = 0;
    },
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

  constructor() {
    this.registry.registerMetric(this.sizes as never);
  }

  observe(qtype: number, rcode: number, transport: Transport, bytes: number, cached: boolean): void {
    const key = ((qtype & 0xffff) << 8) | (rcode << 1) | (transport === "tcp" ? 1 : 0);
    let tally = this.tallies.get(key);
    if (tally === undefined) tally = this.tally(key, qtype, rcode, transport);
    tally.n++;
    this.sizes.observe(transport === "tcp" ? 1 : 0, bytes);
    if (cached) this.pendingHits++;
  }

  /**
   * Types outside podns's table share one tally per rcode and transport, kept under a key of their own, so that
   * clients cannot grow the series (or this map) without bound.
   */
  private tally(key: number, qtype: number, rcode: number, transport: Transport) {
    const label = qtypeLabel(qtype);
    const k = label === "other" ? -1 - (key & 0xff) : key;
    let tally = this.tallies.get(k);
    if (tally === undefined) {
      tally = { labels: [label, rcodeName(rcode), transport], n: 0 };
      this.tallies.set(k, tally);
    }
    return tally;
  }

  dropped(reason: "malformed" | "response" | "internal"): void {
    this.drops.labels(reason).inc();
  }
}

/** Bucket bounds of the response-size histogram, in bytes: the UDP limits and the TCP maximum. */
const SIZE_BUCKETS = [64, 128, 256, 512, 1024, 1232, 4096, 16_384, 65_535];
const TRANSPORTS = ["udp", "tcp"] as const;

/**
 * A histogram by transport kept in typed arrays and reported in prom-client's collector shape (`get()`), so an
 * observation costs a short bucket search and two additions.
 */
class SizeHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly counts = [
    new Float64Array(SIZE_BUCKETS.length + 1),
    new Float64Array(SIZE_BUCKETS.length + 1),
  ];
  private readonly sums = new Float64Array(2);

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  observe(transport: 0 | 1, value: number): void {
    let i = 0;
    while (i < SIZE_BUCKETS.length && value > SIZE_BUCKETS[i]!) i++;
    this.counts[transport]![i]!++;
    this.sums[transport]! += value;
  }

  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    TRANSPORTS.forEach((transport, t) => {
      const counts = this.counts[t]!;
      let cumulative = 0;
      SIZE_BUCKETS.forEach((le, i) => {
        cumulative += counts[i]!;
        values.push({ labels: { le, transport }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      cumulative += counts[SIZE_BUCKETS.length]!;
      values.push({
        labels: { le: "+Inf", transport },
        value: cumulative,
        metricName: `${this.name}_bucket`,
      });
      values.push({ labels: { transport }, value: this.sums[t]!, metricName: `${this.name}_sum` });
      values.push({ labels: { transport }, value: cumulative, metricName: `${this.name}_count` });
    });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
