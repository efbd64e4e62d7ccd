/**
 * The metrics podns keeps itself: histograms in typed arrays reported in Prometheus form, watch activity split into
 * events and relists, and gauges read from what podns holds at scrape time.
 */
import { describe, expect, it } from "vitest";
import { Metrics, TransportHistogram } from "../../src/http/metrics.js";

async function samples(h: TransportHistogram) {
  const { values } = await h.get();
  return values.map((v) => `${v.metricName}${JSON.stringify(v.labels)} ${v.value}`);
}

describe("TransportHistogram", () => {
  it("counts a value equal to a bound in that bound's bucket (Prometheus `le`), cumulatively", async () => {
    const h = new TransportHistogram("t_seconds", "test", [0.001, 0.01]);
    h.observe("udp", 0.001);
    h.observe("udp", 0.005);
    h.observe("udp", 0.5);
    h.observe("tcp", 0.0001);
    expect(await samples(h)).toEqual([
      't_seconds_bucket{"le":0.001,"transport":"udp"} 1',
      't_seconds_bucket{"le":0.01,"transport":"udp"} 2',
      't_seconds_bucket{"le":"+Inf","transport":"udp"} 3',
      't_seconds_sum{"transport":"udp"} 0.506',
      't_seconds_count{"transport":"udp"} 3',
      't_seconds_bucket{"le":0.001,"transport":"tcp"} 1',
      't_seconds_bucket{"le":0.01,"transport":"tcp"} 1',
      't_seconds_bucket{"le":"+Inf","transport":"tcp"} 1',
      't_seconds_sum{"transport":"tcp"} 0.0001',
      't_seconds_count{"transport":"tcp"} 1',
    ]);
  });
});

describe("Metrics", () => {
  it("counts LIST activity as a relist and every other type as a watch event", async () => {
    const m = new Metrics();
    m.watchActivity("Pod", "LIST");
    m.watchActivity("Pod", "SET");
    m.watchActivity("Pod", "DELETED");
    m.watchActivity("Pod", "LIST");
    const text = await m.registry.metrics();
    expect(text).toContain('podns_watch_relists_total{kind="Pod"} 2');
    expect(text).toContain('podns_watch_events_total{kind="Pod",type="SET"} 1');
    expect(text).toContain('podns_watch_events_total{kind="Pod",type="DELETED"} 1');
    expect(text).not.toContain('type="LIST"');
  });

  it("reads the endpoints held and the age of the newest event per kind when scraped", async () => {
    let endpoints = 7;
    const m = new Metrics({
      endpoints: () => endpoints,
      lastEvents: () => [
        { kind: "Service", at: Date.now() - 42_000 },
        { kind: "Node", at: 0 },
      ],
    });
    let text = await m.registry.metrics();
    expect(text).toMatch(/^podns_endpoints 7$/m);
    const age = Number(/^podns_watch_last_event_age_seconds\{kind="Service"\} (\S+)$/m.exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(42);
    expect(age).toBeLessThan(43);
    // A kind that has had no event yet has no age.
    expect(text).not.toContain('podns_watch_last_event_age_seconds{kind="Node"}');
    endpoints = 9;
    text = await m.registry.metrics();
    expect(text).toMatch(/^podns_endpoints 9$/m);
  });

  it("puts each answered query's duration in the histogram of its transport", async () => {
    const m = new Metrics();
    m.duration("udp", 0.00002);
    m.duration("tcp", 0.003);
    const text = await m.registry.metrics();
    expect(text).toContain('podns_dns_request_duration_seconds_bucket{le="0.000025",transport="udp"} 1');
    expect(text).toContain('podns_dns_request_duration_seconds_bucket{le="0.00001",transport="udp"} 0');
    expect(text).toContain('podns_dns_request_duration_seconds_bucket{le="0.0000025",transport="udp"} 0');
    expect(text).toContain('podns_dns_request_duration_seconds_bucket{le="0.0025",transport="tcp"} 0');
    expect(text).toContain('podns_dns_request_duration_seconds_bucket{le="0.005",transport="tcp"} 1');
    expect(text).toContain('podns_dns_request_duration_seconds_count{transport="tcp"} 1');
  });
});
