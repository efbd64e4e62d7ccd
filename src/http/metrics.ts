/**
 * Prometheus metrics (prom-client). The query path only adds to plain tallies: prom-client's label hashing and
 * histogram search cost about 30% of a cached answer in a profile of the handler, so its metrics are brought up to
 * date from the tallies when Prometheus scrapes (`collect`), and the response-size and request-duration histograms
 * are small collectors of podns's own. Gauges of what podns holds are read at scrape time too.
 */
import { Counter, Gauge, Registry } from "prom-client";
import { rcodeName, typeName } from "../dns/constants.js";
import type { QueryObserver, Transport } from "../server/handler.js";

/** What the scrape-time gauges read. */
export interface HeldState {
  /** Endpoints in the EndpointSlices of the Services held. */
  endpoints(): number;
  /** Milliseconds since the epoch of the newest watch event or list per kind; 0 when none has come yet. */
  lastEvents(): readonly { readonly kind: string; readonly at: number }[];
}

const NOTHING_HELD: HeldState = { endpoints: () => 0, lastEvents: () => [] };

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
  private readonly sizes = new TransportHistogram(
    "podns_dns_response_size_bytes",
    "Size of DNS responses in bytes, by transport.",
    SIZE_BUCKETS,
  );
  private readonly durations = new TransportHistogram(
    "podns_dns_request_duration_seconds",
    "Time from a query's arrival at the handler to its encoded answer, in seconds, by transport.",
    DURATION_BUCKETS,
  );
  private pendingHits = 0;
  private pendingSlips = 0;
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
  private readonly slips = new Counter({
    name: "podns_dns_rate_limited_total",
    help: "UDP answers replaced by a slip (TC=1, no records) by response rate limiting (--rate-limit).",
    registers: [this.registry],
    collect: () => {
      this.slips.inc(this.pendingSlips);
      this.pendingSlips = 0;
    },
  });
  private readonly drops = new Counter({
    name: "podns_dns_dropped_total",
    help: "Messages not answered, by reason.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  private readonly watchEvents = new Counter({
    name: "podns_watch_events_total",
    help: "Kubernetes watch events, by kind and type.",
    labelNames: ["kind", "type"] as const,
    registers: [this.registry],
  });
  private readonly relists = new Counter({
    name: "podns_watch_relists_total",
    help: "Complete lists of a kind: the first sync, and each relist after an error or 410 Gone.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  private readonly lastEventAge = new Gauge({
    name: "podns_watch_last_event_age_seconds",
    help: "Seconds since the newest watch event, bookmark or list of a kind.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
    collect: () => {
      const now = Date.now();
      for (const { kind, at } of this.held.lastEvents()) {
        if (at > 0) this.lastEventAge.labels(kind).set((now - at) / 1000);
      }
    },
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
  private readonly endpoints = new Gauge({
    name: "podns_endpoints",
    help: "Endpoints in the EndpointSlices of the Services held.",
    registers: [this.registry],
    collect: () => {
      this.endpoints.set(this.held.endpoints());
    },
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

  constructor(private readonly held: HeldState = NOTHING_HELD) {
    this.registry.registerMetric(this.sizes as never);
    this.registry.registerMetric(this.durations as never);
  }

  observe(qtype: number, rcode: number, transport: Transport, bytes: number, cached: boolean): void {
    const key = ((qtype & 0xffff) << 8) | (rcode << 1) | (transport === "tcp" ? 1 : 0);
    let tally = this.tallies.get(key);
    if (tally === undefined) tally = this.tally(key, qtype, rcode, transport);
    tally.n++;
    this.sizes.observe(transport, bytes);
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

  /** One UDP answer was replaced by a slip. */
  slipped(): void {
    this.pendingSlips++;
  }

  /** One answered message took `seconds` in the handler. */
  duration(transport: Transport, seconds: number): void {
    this.durations.observe(transport, seconds);
  }

  /** An informer's event: "LIST" after each complete (re)list, else a watch event type. */
  watchActivity(kind: string, type: string): void {
    if (type === "LIST") this.relists.labels(kind).inc();
    else this.watchEvents.labels(kind, type).inc();
  }
}

/** Bucket bounds of the response-size histogram, in bytes: the UDP limits and the TCP maximum. */
const SIZE_BUCKETS = [64, 128, 256, 512, 1024, 1232, 4096, 16_384, 65_535];
/**
 * Bucket bounds of the request-duration histogram, in seconds, from 2.5 µs to 100 ms: a cached UDP answer took 4.6 µs
 * on average in the handler here (5,000 demo queries), an answer to encode tens of microseconds, and past 100 ms
 * something is wrong. Most observations stop at the first or second bound.
 */
const DURATION_BUCKETS = [
  0.000_002_5, 0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005,
  0.01, 0.025, 0.05, 0.1,
];
const TRANSPORTS = ["udp", "tcp"] as const;

/**
 * A histogram by transport kept in typed arrays and reported in prom-client's collector shape (`get()`), so an
 * observation costs a short bucket search from the smallest bound (where most observations fall) and two additions.
 */
export class TransportHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly counts: [Float64Array, Float64Array];
  private readonly sums = new Float64Array(2);

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {
    this.counts = [new Float64Array(buckets.length + 1), new Float64Array(buckets.length + 1)];
  }

  observe(transport: Transport, value: number): void {
    const t = transport === "tcp" ? 1 : 0;
    const { buckets } = this;
    let i = 0;
    while (i < buckets.length && value > buckets[i]!) i++;
    this.counts[t][i]!++;
    this.sums[t]! += value;
  }

  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    TRANSPORTS.forEach((transport, t) => {
      const counts = this.counts[t as 0 | 1];
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += counts[i]!;
        values.push({ labels: { le, transport }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      cumulative += counts[this.buckets.length]!;
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
