/**
 * What an operator sees: `/metrics` series that move with queries and watch activity, `/debug/services` telling
 * what podns believes about each Service and why an endpoint gets no traffic, and sampled query logging.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EndpointExplanation, ServiceExplanation } from "../../src/discovery/explain.js";
import { dig } from "../support/dig.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { capturedLog, freePort, scrape, startPodns, type TestServer, total } from "../support/podns.js";
import { buildQuery, readHeader, udpExchange } from "../support/raw-dns.js";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin/podns.js");
const DEMO = path.join(ROOT, "zones");

async function debugServices(server: TestServer, query = ""): Promise<ServiceExplanation[]> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/debug/services${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return ((await res.json()) as { services: ServiceExplanation[] }).services;
}

async function service(server: TestServer, namespace: string, name: string): Promise<ServiceExplanation> {
  const [svc] = await debugServices(server, `?namespace=${namespace}&name=${name}`);
  return svc!;
}

function endpoint(svc: ServiceExplanation, address: string): EndpointExplanation {
  const ep = svc.endpoints.find((e) => e.addresses.includes(address));
  if (ep === undefined) throw new Error(`${svc.name} has no endpoint ${address}`);
  return ep;
}

/** Polls `probe` until `ok` holds of its value; bounded by `ms`. */
async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, ms = 5000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() - started > ms)
      throw new Error(`condition not met after ${ms} ms: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("/metrics while serving the demo cluster", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startPodns({ sources: [DEMO] });
  });
  afterAll(() => server.stop());

  it("counts a UDP query in requests and in the duration histogram, and the same query again as a cache hit", async () => {
    const qname = "db-0.db.demo.svc.cluster.local";
    const before = await scrape(server);
    expect((await dig(server.port, "A", qname)).rcode).toBe("NOERROR");
    const once = await scrape(server);
    expect((await dig(server.port, "A", qname)).rcode).toBe("NOERROR");
    const twice = await scrape(server);

    const requests = { qtype: "A", rcode: "NOERROR", transport: "udp" };
    expect(
      total(once, "podns_dns_requests_total", requests) - total(before, "podns_dns_requests_total", requests),
    ).toBe(1);
    const udp = { transport: "udp" };
    const count = "podns_dns_request_duration_seconds_count";
    expect(total(once, count, udp) - total(before, count, udp)).toBe(1);
    expect(total(twice, count, udp) - total(once, count, udp)).toBe(1);
    const hits = "podns_dns_cache_hits_total";
    expect(total(once, hits) - total(before, hits)).toBe(0);
    expect(total(twice, hits) - total(once, hits)).toBe(1);
    const seconds = total(twice, "podns_dns_request_duration_seconds_sum", udp);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(1);
  });

  it("labels error answers whose question was read with its qtype and the full rcode (BADVERS, REFUSED)", async () => {
    const before = await scrape(server);
    expect((await dig(server.port, "+edns=1", "+noednsneg", "A", "web.demo.svc.cluster.local")).rcode).toBe(
      "BADVERS",
    );
    const ixfr = await udpExchange(server.port, buildQuery({ qname: "cluster.local.", qtype: 251 }));
    expect(readHeader(ixfr!).rcode).toBe(5);
    const after = await scrape(server);
    const delta = (labels: Record<string, string>) =>
      total(after, "podns_dns_requests_total", labels) - total(before, "podns_dns_requests_total", labels);
    expect(delta({ qtype: "A", rcode: "BADVERS", transport: "udp" })).toBe(1);
    expect(delta({ qtype: "IXFR", rcode: "REFUSED", transport: "udp" })).toBe(1);
    expect(delta({ qtype: "none" })).toBe(0);
  });

  it("puts every answered query in the histograms of its transport: their counts equal the requests", async () => {
    await dig(server.port, "+tcp", "SRV", "_http._tcp.web.demo.svc.cluster.local");
    await dig(server.port, "A", "nosuch.demo.svc.cluster.local");
    const series = await scrape(server);
    for (const transport of ["udp", "tcp"]) {
      const requests = total(series, "podns_dns_requests_total", { transport });
      expect(requests).toBeGreaterThan(0);
      for (const histogram of ["podns_dns_request_duration_seconds", "podns_dns_response_size_bytes"]) {
        expect(total(series, `${histogram}_count`, { transport })).toBe(requests);
        expect(total(series, `${histogram}_bucket`, { transport, le: "+Inf" })).toBe(requests);
      }
    }
  });

  it("has duration buckets from 2.5 microseconds to 100 milliseconds", async () => {
    const series = await scrape(server);
    const bounds = [...series.keys()]
      .filter(
        (k) => k.startsWith("podns_dns_request_duration_seconds_bucket{") && k.includes('transport="udp"'),
      )
      .map((k) => /le="([^"]+)"/.exec(k)![1]!);
    expect(bounds[0]).toBe("0.0000025");
    expect(bounds).toContain("0.00001");
    expect(bounds).toContain("0.1");
    expect(bounds.at(-1)).toBe("+Inf");
    expect(bounds.map(Number).slice(0, -1)).toEqual(
      [...bounds.map(Number).slice(0, -1)].sort((a, b) => a - b),
    );
  });

  it("reports the endpoints, objects and zone serial it holds", async () => {
    const series = await scrape(server);
    // web 3, db 2, api 2 IPv4 + 2 IPv6, checkout 4.
    expect(series.get("podns_endpoints")).toBe(13);
    expect(series.get('podns_objects{kind="Service"}')).toBe(5);
    expect(series.get('podns_objects{kind="EndpointSlice"}')).toBe(5);
    expect(series.get("podns_zone_serial")).toBeGreaterThan(0);
  });
});

describe("/metrics and logs following a live watch", () => {
  let api: FakeApiServer;
  let server: TestServer;
  let lines: Record<string, unknown>[];

  beforeEach(async () => {
    // No bookmarks during a test: the age of the newest event moves only with the test's own changes.
    api = await FakeApiServer.start({ bookmarkIntervalMs: 600_000 });
    const kubeconfig = await api.writeKubeconfig(await mkdtemp(path.join(tmpdir(), "podns-kube-")));
    const cart = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "cart", namespace: "shop" },
      spec: { clusterIP: "None", selector: { app: "cart" }, ports: [{ name: "http", port: 80 }] },
    };
    api.apply(cart);
    api.apply(pod("cart-a"));
    const captured = capturedLog();
    lines = captured.lines;
    server = await startPodns({
      kube: { kind: "kubeconfig", file: kubeconfig },
      backoff: { initial: 0.05, max: 0.2 },
      log: captured.log,
    });
    await server.podns.synced();
  });

  afterEach(async () => {
    await server.stop();
    await api.stop();
  });

  function pod(name: string, weight = "100") {
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "shop", annotations: { "podns.io/weight": weight } },
      spec: { nodeName: "node-a" },
    };
  }

  it("counts one list per kind at the first sync and logs each, and the sync", async () => {
    const series = await scrape(server);
    for (const kind of ["Service", "EndpointSlice", "Pod", "Node"]) {
      expect(series.get(`podns_watch_relists_total{kind="${kind}"}`)).toBe(1);
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: "kubernetes: listed", kind, relist: false }),
      );
    }
    expect(total(series, "podns_watch_events_total", { type: "LIST" })).toBe(0);
    expect(lines.map((l) => l["msg"])).toContain("kubernetes: initial sync complete");
  });

  it("counts a watch event and resets the age of the newest event of its kind", async () => {
    const ageOf = async () => (await scrape(server)).get('podns_watch_last_event_age_seconds{kind="Pod"}')!;
    const events = async () => total(await scrape(server), "podns_watch_events_total", { kind: "Pod" });
    const first = await ageOf();
    expect(first).toBeGreaterThanOrEqual(0);
    await new Promise((r) => setTimeout(r, 400));
    const older = await ageOf();
    expect(older).toBeGreaterThan(first + 0.3);
    const before = await events();
    api.apply(pod("cart-a", "300"));
    await until(events, (n) => n > before);
    expect(await ageOf()).toBeLessThan(older);
  });

  it("counts and logs a relist per kind, and the errors, when the API server comes back after going away", async () => {
    const errors = total(await scrape(server), "podns_watch_errors_total");
    await api.goOffline();
    // A change, then the history the watches would resume from is gone: 410 Gone, then a relist.
    api.apply(pod("cart-b"));
    api.compact();
    await new Promise((r) => setTimeout(r, 300));
    await api.goOnline();
    const series = await until(
      () => scrape(server),
      (s) => ["Service", "Pod"].every((k) => (s.get(`podns_watch_relists_total{kind="${k}"}`) ?? 0) >= 2),
      15_000,
    );
    expect(total(series, "podns_watch_errors_total")).toBeGreaterThan(errors);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: "kubernetes: relisted", kind: "Service", relist: true }),
    );
    expect(lines.some((l) => l["level"] === 40 && l["kind"] === "Service")).toBe(true);
  });
});

describe("/debug/services on the demo cluster", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startPodns({ sources: [DEMO] });
  });
  afterAll(() => server.stop());

  it("lists every Service of the demo by namespace and name, with its type and what its name answers", async () => {
    const services = await debugServices(server);
    expect(services.map((s) => [s.name, s.type, s.answers])).toEqual([
      ["api", "ClusterIP", "endpoints"],
      ["checkout", "ClusterIP", "endpoints"],
      ["db", "Headless", "endpoints"],
      ["search", "ExternalName", "CNAME"],
      ["web", "ClusterIP", "endpoints"],
    ]);
    expect(services.find((s) => s.name === "search")?.externalName).toBe("search.example.com");
  });

  it("shows web's ready endpoints with weights, SRV weights and shares, and web-c left out as not ready", async () => {
    const web = await service(server, "demo", "web");
    expect(web).toMatchObject({
      fqdn: "web.demo.svc.cluster.local.",
      clusterIPs: ["10.96.0.20"],
      selector: true,
    });
    expect(endpoint(web, "10.244.1.10")).toMatchObject({
      name: "10-244-1-10.web.demo.svc.cluster.local.",
      pod: "demo/web-a",
      node: "node-a",
      zone: "zone-a",
      ready: true,
      serving: true,
      terminating: false,
      baseWeight: 200,
      effectiveWeight: 200,
      srvWeights: { http: 65535, metrics: 65535 },
      share: 66.7,
    });
    expect(endpoint(web, "10.244.1.11")).toMatchObject({
      baseWeight: 100,
      srvWeights: { http: 32768 },
      share: 33.3,
    });
    const c = endpoint(web, "10.244.2.12");
    expect(c).toMatchObject({ pod: "demo/web-c", ready: false, share: 0, leftOut: "not ready" });
    expect(c.name).toBeUndefined();
    expect(web.endpoints.at(-1)).toBe(c);
  });

  it("shows checkout's traffic split: shares of 30, 30, 30 and 10 percent and the SRV weights", async () => {
    const checkout = await service(server, "demo", "checkout");
    expect(checkout.trafficSplit).toEqual({
      label: "version",
      groups: { stable: 90, canary: 10 },
      applies: true,
    });
    const rows = checkout.endpoints.map((e) => [e.pod, e.share, e.srvWeights?.["http"]]);
    expect(rows).toEqual([
      ["demo/checkout-stable-1", 30, 65535],
      ["demo/checkout-stable-3", 30, 65535],
      ["demo/checkout-stable-2", 30, 65535],
      ["demo/checkout-canary-1", 10, 21845],
    ]);
  });

  it("agrees with the SRV records podns serves", async () => {
    const checkout = await service(server, "demo", "checkout");
    const served = (await dig(server.port, "SRV", "_http._tcp.checkout.demo.svc.cluster.local")).answer.map(
      (rr) => {
        const [, , , , , weight, , target] = rr.split(" ");
        return [target, Number(weight)];
      },
    );
    const believed = checkout.endpoints.map((e) => [e.name, e.srvWeights?.["http"]]);
    expect(served.sort()).toEqual(believed.sort());
  });

  it("narrows to one namespace, answers 404 for a Service it does not hold, and 405 to anything but GET", async () => {
    expect((await debugServices(server, "?namespace=nosuch")).length).toBe(0);
    expect((await debugServices(server, "?namespace=demo")).length).toBe(5);
    const base = `http://127.0.0.1:${server.httpPort}/debug/services`;
    expect((await fetch(`${base}?namespace=demo&name=nosuch`)).status).toBe(404);
    expect((await fetch(base, { method: "POST" })).status).toBe(405);
    expect((await fetch(base, { method: "HEAD" })).status).toBe(405);
  });
});

describe("/debug/services explaining endpoints left out", () => {
  let server: TestServer;
  const readyAt = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000).toISOString();

  beforeAll(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "podns-explain-"));
    await writeFile(path.join(dir, "rollout.yaml"), ROLLOUT(readyAt(60), readyAt(3600)));
    server = await startPodns({ sources: [dir] });
  });
  afterAll(() => server.stop());

  it("leaves out a draining endpoint while another is ready, and one no longer serving", async () => {
    const ledger = await service(server, "rollout", "ledger");
    expect(endpoint(ledger, "10.244.9.1")).toMatchObject({ share: 100 });
    expect(endpoint(ledger, "10.244.9.1").leftOut).toBeUndefined();
    expect(endpoint(ledger, "10.244.9.2")).toMatchObject({
      ready: false,
      serving: true,
      terminating: true,
      leftOut: "terminating (draining) while other endpoints are ready",
    });
    expect(endpoint(ledger, "10.244.9.3").leftOut).toBe("terminating and no longer serving");
  });

  it("publishes a draining endpoint when none is ready, and says so", async () => {
    const solo = await service(server, "rollout", "solo");
    const ep = endpoint(solo, "10.244.9.5");
    expect(ep).toMatchObject({ share: 100, name: "10-244-9-5.solo.rollout.svc.cluster.local." });
    expect(ep.leftOut).toBeUndefined();
    expect(ep.notes).toContain("draining: terminating but serving, published because no endpoint is ready");
  });

  it("names the traffic-split reason for each endpoint a split leaves out", async () => {
    const split = await service(server, "rollout", "split");
    expect(endpoint(split, "10.244.9.11")).toMatchObject({ share: 100, srvWeights: { http: 65535 } });
    expect(endpoint(split, "10.244.9.12").leftOut).toBe("traffic-split group track=canary is at 0%");
    expect(endpoint(split, "10.244.9.13").leftOut).toBe("track=legacy is in no traffic-split group");
    expect(endpoint(split, "10.244.9.14").leftOut).toBe("no label track: in no traffic-split group");
    // Left out of the Service's answers, a split's endpoints keep their per-pod names.
    expect(endpoint(split, "10.244.9.12").name).toBe("10-244-9-12.split.rollout.svc.cluster.local.");
  });

  it("shows how far slow start has raised a newly ready endpoint's weight", async () => {
    const ramp = await service(server, "rollout", "ramp");
    expect(ramp.slowStartSeconds).toBe(600);
    const fresh = endpoint(ramp, "10.244.9.21");
    // 10% rising linearly to 100% over 600 s: 19% after 60 s.
    expect(fresh.slowStartPercent).toBeGreaterThanOrEqual(19);
    expect(fresh.slowStartPercent).toBeLessThan(20);
    expect(fresh.effectiveWeight).toBeCloseTo(fresh.slowStartPercent!, 0);
    expect(endpoint(ramp, "10.244.9.22").slowStartPercent).toBeUndefined();
    expect(endpoint(ramp, "10.244.9.22").share).toBeGreaterThan(83);
  });

  it("notes a Service without a named port, and one without a selector answering with its cluster IP", async () => {
    expect(endpoint(await service(server, "rollout", "unnamed"), "10.244.9.31").notes).toContain(
      "no SRV records: the Service has no named port",
    );
    const manual = await service(server, "rollout", "manual");
    expect(manual.answers).toBe("cluster IP");
    expect(endpoint(manual, "10.244.9.41").leftOut).toBe(
      "a Service without a selector answers with its cluster IP",
    );
  });
});

describe("sampled query logging", () => {
  async function queryLines(sample: number): Promise<Record<string, unknown>[]> {
    const { log, lines } = capturedLog();
    const server = await startPodns({ sources: [DEMO], queryLogSample: sample, log });
    try {
      await dig(server.port, "A", "web.demo.svc.cluster.local");
      await dig(server.port, "+tcp", "SRV", "_http._tcp.web.demo.svc.cluster.local");
      await dig(server.port, "A", "nosuch.demo.svc.cluster.local");
    } finally {
      await server.stop();
    }
    return lines.filter((l) => l["msg"] === "query");
  }

  it("logs every query at 1, one line each with client, transport, name, type, rcode, bytes and seconds", async () => {
    const lines = await queryLines(1);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      client: "127.0.0.1",
      transport: "udp",
      qname: "web.demo.svc.cluster.local.",
      qtype: "A",
      rcode: "NOERROR",
    });
    expect(lines[1]).toMatchObject({ transport: "tcp", qtype: "SRV", rcode: "NOERROR" });
    expect(lines[2]).toMatchObject({ qname: "nosuch.demo.svc.cluster.local.", rcode: "NXDOMAIN" });
    for (const line of lines) {
      expect(line["bytes"]).toBeGreaterThan(12);
      expect(line["seconds"]).toBeGreaterThan(0);
      expect(line["seconds"]).toBeLessThan(1);
    }
  });

  it("logs no query at 0, the default", async () => {
    expect(await queryLines(0)).toEqual([]);
  });

  it("is switched on by PODNS_QUERY_LOG_SAMPLE in `podns serve`, which logs JSON lines on stdout", async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [BIN, "serve", "--source", DEMO, "--listen", `127.0.0.1:${port}`, "--http-listen", "127.0.0.1:0"],
      { env: { ...process.env, PODNS_QUERY_LOG_SAMPLE: "1" }, stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      await until(
        async () => out,
        (o) => o.includes("podns serving"),
        30_000,
      );
      await dig(port, "TXT", "dns-version.cluster.local");
      const line = await until(
        async () => out.split("\n").find((l) => l.includes('"msg":"query"')),
        (l) => l !== undefined,
      );
      expect(JSON.parse(line!)).toMatchObject({ qname: "dns-version.cluster.local.", qtype: "TXT" });
    } finally {
      child.kill("SIGKILL");
    }
  });

  it.each(["1.5", "-0.1", "often"])(
    "stops `podns serve --query-log-sample %s` with exit status 2",
    async (value) => {
      try {
        await run(process.execPath, [BIN, "serve", "--source", DEMO, "--query-log-sample", value], {
          timeout: 15_000,
        });
        expect.unreachable("podns should have exited 2");
      } catch (err) {
        const e = err as { code: number; stderr: string };
        expect(e.code).toBe(2);
        expect(e.stderr).toMatch(/--query-log-sample.*expected a number from 0 to 1/);
      }
    },
  );
});

/** Namespace rollout: draining, a traffic split with every kind of exclusion, slow start, odd ports. */
const ROLLOUT = (freshReady: string, oldReady: string) => `
apiVersion: v1
kind: Service
metadata: { name: ledger, namespace: rollout }
spec:
  clusterIP: 10.96.80.10
  selector: { app: ledger }
  ports: [{ name: http, port: 80, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ledger-1, namespace: rollout, labels: { kubernetes.io/service-name: ledger } }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
  - { addresses: [10.244.9.1], conditions: { ready: true, serving: true, terminating: false } }
  - { addresses: [10.244.9.2], conditions: { ready: false, serving: true, terminating: true } }
  - { addresses: [10.244.9.3], conditions: { ready: false, serving: false, terminating: true } }
---
apiVersion: v1
kind: Service
metadata: { name: solo, namespace: rollout }
spec:
  clusterIP: None
  selector: { app: solo }
  ports: [{ name: http, port: 80, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: solo-1, namespace: rollout, labels: { kubernetes.io/service-name: solo } }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
  - { addresses: [10.244.9.5], conditions: { ready: false, serving: true, terminating: true } }
---
apiVersion: v1
kind: Service
metadata:
  name: split
  namespace: rollout
  annotations: { podns.io/traffic-split: "track: stable=100, canary=0" }
spec:
  clusterIP: 10.96.80.20
  selector: { app: split }
  ports: [{ name: http, port: 80, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: split-1, namespace: rollout, labels: { kubernetes.io/service-name: split } }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
  - { addresses: [10.244.9.11], targetRef: { kind: Pod, namespace: rollout, name: split-stable } }
  - { addresses: [10.244.9.12], targetRef: { kind: Pod, namespace: rollout, name: split-canary } }
  - { addresses: [10.244.9.13], targetRef: { kind: Pod, namespace: rollout, name: split-legacy } }
  - { addresses: [10.244.9.14], targetRef: { kind: Pod, namespace: rollout, name: split-bare } }
---
apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: Pod, metadata: { name: split-stable, namespace: rollout, labels: { track: stable } } }
  - { apiVersion: v1, kind: Pod, metadata: { name: split-canary, namespace: rollout, labels: { track: canary } } }
  - { apiVersion: v1, kind: Pod, metadata: { name: split-legacy, namespace: rollout, labels: { track: legacy } } }
  - { apiVersion: v1, kind: Pod, metadata: { name: split-bare, namespace: rollout } }
---
apiVersion: v1
kind: Service
metadata:
  name: ramp
  namespace: rollout
  annotations: { podns.io/slow-start: "600" }
spec:
  clusterIP: 10.96.80.30
  selector: { app: ramp }
  ports: [{ name: http, port: 80, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ramp-1, namespace: rollout, labels: { kubernetes.io/service-name: ramp } }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
  - { addresses: [10.244.9.21], targetRef: { kind: Pod, namespace: rollout, name: ramp-fresh } }
  - { addresses: [10.244.9.22], targetRef: { kind: Pod, namespace: rollout, name: ramp-old } }
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: { name: ramp-fresh, namespace: rollout }
    status: { conditions: [{ type: Ready, status: "True", lastTransitionTime: "${freshReady}" }] }
  - apiVersion: v1
    kind: Pod
    metadata: { name: ramp-old, namespace: rollout }
    status: { conditions: [{ type: Ready, status: "True", lastTransitionTime: "${oldReady}" }] }
---
apiVersion: v1
kind: Service
metadata: { name: unnamed, namespace: rollout }
spec:
  clusterIP: 10.96.80.40
  selector: { app: unnamed }
  ports: [{ port: 80, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: unnamed-1, namespace: rollout, labels: { kubernetes.io/service-name: unnamed } }
addressType: IPv4
ports: [{ port: 8080, protocol: TCP }]
endpoints:
  - { addresses: [10.244.9.31] }
---
apiVersion: v1
kind: Service
metadata: { name: manual, namespace: rollout }
spec:
  clusterIP: 10.96.80.50
  ports: [{ name: http, port: 80, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: manual-1, namespace: rollout, labels: { kubernetes.io/service-name: manual } }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
  - { addresses: [10.244.9.41] }
`;
