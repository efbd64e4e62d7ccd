/**
 * Kubernetes API faults, driven through the fake API server against the real client-node informers: an API server
 * unreachable at start or lost later, dropped, expired (410 Gone), failing, slow and silent watches, relists under
 * query load, and `--namespace`. Every scenario ends with podns's answers equal to the API server's state.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Command } from "commander";
import { Packet } from "dns2";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { serveOptions, toServeConfig } from "../../src/config/serve-config.js";
import { DEFAULT_BACKOFF } from "../../src/k8s/informer.js";
import { untilEqual as until } from "../support/daemon.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { capturedLog, type StartOptions, startPodns, type TestServer } from "../support/podns.js";
import { buildQuery, udpExchange } from "../support/raw-dns.js";

const NS = "shop";
const ZONE = "cluster.local";
const STATIC_ZONE = "test/fixtures/zones/cluster.local.zone";
/** A static A RRset of the zone file above. */
const STATIC_NAME = `db.external.${ZONE}`;
const STATIC_ADDRESSES = ["192.0.2.15", "192.0.2.16"];
const FAST = { initial: 0.05, max: 0.5 };
const RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

const name = (svc: string, ns = NS) => `${svc}.${ns}.svc.${ZONE}`;

function service(svc: string, ns = NS) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: svc, namespace: ns },
    spec: { clusterIP: "None", selector: { app: svc }, ports: [{ name: "http", port: 80, protocol: "TCP" }] },
  };
}

function slice(sliceName: string, svc: string, ips: readonly string[], ns = NS) {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: sliceName, namespace: ns, labels: { "kubernetes.io/service-name": svc } },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  };
}

let nextId = 1;

/** The sorted A records of `qname` over UDP, or the rcode's name, or "TIMEOUT". */
async function lookupA(port: number, qname: string): Promise<string[] | string> {
  nextId = (nextId + 1) & 0xffff;
  const reply = await udpExchange(port, buildQuery({ id: nextId, qname, qtype: 1 }), 1000);
  if (reply === null) return "TIMEOUT";
  const p = Packet.parse(reply);
  if (p.header.rcode !== 0) return RCODES[p.header.rcode] ?? `RCODE${p.header.rcode}`;
  return p.answers
    .filter((a) => a.type === 1)
    .map((a) => a.address as string)
    .sort();
}

async function readyz(s: TestServer): Promise<number> {
  return (await fetch(`http://127.0.0.1:${s.httpPort}/readyz`)).status;
}

describe("podns facing Kubernetes API faults", () => {
  let api: FakeApiServer;
  let kubeconfig: string;
  let server: TestServer | undefined;

  beforeEach(async () => {
    api = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
    kubeconfig = await api.writeKubeconfig(await mkdtemp(path.join(tmpdir(), "podns-faults-")));
    api.apply(service("cart"));
    api.apply(slice("cart-1", "cart", ["10.1.0.1", "10.1.0.2"]));
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await api.stop();
  });

  async function start(options: StartOptions = {}): Promise<TestServer> {
    server = await startPodns({ kube: { kind: "kubeconfig", file: kubeconfig }, backoff: FAST, ...options });
    return server;
  }

  const cart = (s: TestServer) => lookupA(s.port, name("cart"));

  it("is not ready and answers SERVFAIL, but serves static records, while the API is unreachable at start; then syncs", async () => {
    await api.goOffline();
    const { log, lines } = capturedLog();
    const s = await start({ sources: [STATIC_ZONE], log });
    await sleep(1500);
    expect(await cart(s)).toBe("SERVFAIL");
    expect(await lookupA(s.port, STATIC_NAME)).toEqual(STATIC_ADDRESSES);
    expect(await readyz(s)).toBe(503);
    // Retries with a growing, jittered delay: a handful per kind in 1.5 s, never a tight loop.
    const retries = lines.filter((l) => l.msg === "watch failed; restarting" && l["kind"] === "Service");
    expect(retries.length).toBeGreaterThanOrEqual(3);
    expect(retries.length).toBeLessThanOrEqual(15);
    const delays = retries.map((l) => l["retryInSeconds"] as number);
    expect(Math.max(...delays)).toBeGreaterThan(FAST.initial);
    expect(Math.max(...delays)).toBeLessThanOrEqual(FAST.max);

    await api.goOnline();
    await until(() => cart(s), ["10.1.0.1", "10.1.0.2"], 3000);
    expect(await readyz(s)).toBe(200);
    expect(await lookupA(s.port, STATIC_NAME)).toEqual(STATIC_ADDRESSES);
  });

  it("keeps serving the last data and stays ready when the API is lost, logs how stale it is, then catches up", async () => {
    const { log, lines } = capturedLog();
    const s = await start({ log, silenceTimeout: 1 });
    await until(() => cart(s), ["10.1.0.1", "10.1.0.2"]);
    const lost = Date.now();
    await api.goOffline();
    api.apply(slice("cart-1", "cart", ["10.1.0.3"]));
    const stale = () => lines.filter((l) => /last confirmed \d+ s ago/.test(l.msg));
    while (stale().length === 0 && Date.now() - lost < 4000) {
      expect(await cart(s)).toEqual(["10.1.0.1", "10.1.0.2"]);
      expect(await readyz(s)).toBe(200);
      await sleep(100);
    }
    const [warning] = stale();
    expect(warning).toBeDefined();
    expect(warning!.level).toBe(40);
    // Within the silence timeout (1 s) and one check period (0.25 s) of the loss, plus scheduling slack.
    expect(Date.now() - lost).toBeLessThan(2500);
    expect(warning!["staleSeconds"]).toBeGreaterThanOrEqual(1);
    await sleep(1000);
    // Repeated once a minute, not on every check.
    expect(stale()).toHaveLength(1);
    expect(await cart(s)).toEqual(["10.1.0.1", "10.1.0.2"]);

    await api.goOnline();
    await until(() => cart(s), ["10.1.0.3"], 3000);
    await until(
      async () => lines.some((l) => l.msg.startsWith("kubernetes API reachable again")),
      true,
      2000,
    );
  });

  it("reconnects with jittered, growing delays during an 8 s outage, without a request storm", async () => {
    const { log, lines } = capturedLog();
    const s = await start({ log, backoff: { initial: 0.05, max: 2 } });
    await until(() => cart(s), ["10.1.0.1", "10.1.0.2"]);
    const before = api.requests.length;
    api.failNext(1_000_000, 503);
    api.dropWatches();
    api.remove("EndpointSlice", NS, "cart-1");
    api.apply(slice("cart-2", "cart", ["10.1.0.9"]));
    await sleep(8000);
    const during = api.requests.slice(before);
    api.failNext(0);
    // Full jitter between 0.025 s and a ceiling doubling from 0.05 s to 2 s: about a dozen attempts per informer
    // in 8 s (the expected sum of the first six delays is 1.6 s, then about 1 s each). A loop would make thousands.
    const perPath = new Map<string, number>();
    for (const r of during) perPath.set(r.path, (perPath.get(r.path) ?? 0) + 1);
    expect([...perPath.keys()].sort()).toEqual([
      "/api/v1/nodes",
      "/api/v1/pods",
      "/api/v1/services",
      "/apis/discovery.k8s.io/v1/endpointslices",
    ]);
    for (const [p, n] of perPath) {
      expect(n, p).toBeGreaterThanOrEqual(5);
      expect(n, p).toBeLessThanOrEqual(22);
    }
    // Jitter: the delays drawn are spread out, not one value repeated in step by every informer.
    const delays = lines.filter((l) => l.msg === "watch failed; restarting").map((l) => l["retryInSeconds"]);
    expect(new Set(delays).size).toBeGreaterThan(delays.length / 2);
    expect(Math.max(...(delays as number[]))).toBeLessThanOrEqual(2);

    // The next attempt comes within the 2 s ceiling, and it sees the deletion made during the outage.
    await until(() => cart(s), ["10.1.0.9"], 4000);
  }, 25_000);

  it("makes a handful of requests per collection during a 30 s outage with the shipped backoff (0.5 s to 30 s)", async () => {
    const s = await start({ backoff: DEFAULT_BACKOFF });
    await until(() => cart(s), ["10.1.0.1", "10.1.0.2"]);
    const before = api.requests.length;
    api.failNext(1_000_000, 503);
    api.dropWatches();
    await sleep(30_000);
    const during = api.requests.slice(before);
    const perPath = new Map<string, number>();
    for (const r of during) perPath.set(r.path, (perPath.get(r.path) ?? 0) + 1);
    // Full jitter under a ceiling doubling from 0.5 s: the expected delays add up to 16.5 s after six attempts and
    // to 31.6 s after seven. A client without backoff would make thousands.
    expect(perPath.size).toBe(4);
    for (const [p, n] of perPath) {
      expect(n, p).toBeGreaterThanOrEqual(3);
      expect(n, p).toBeLessThanOrEqual(20);
    }
    // Still serving the last data meanwhile.
    expect(await cart(s)).toEqual(["10.1.0.1", "10.1.0.2"]);
  }, 45_000);

  it("recovers from watches dropped mid-stream again and again, ending with the API's state", async () => {
    api.apply(service("gone"));
    api.apply(slice("gone-1", "gone", ["10.2.0.1"]));
    const s = await start();
    await until(() => cart(s), ["10.1.0.1", "10.1.0.2"]);
    await until(() => lookupA(s.port, name("gone")), ["10.2.0.1"]);
    for (let i = 3; i < 8; i++) {
      api.dropWatches();
      api.apply(slice("cart-1", "cart", ["10.1.0.1", `10.1.0.${i}`]));
      await sleep(100);
    }
    api.dropWatches();
    api.remove("EndpointSlice", NS, "gone-1");
    api.remove("Service", NS, "gone");
    await until(() => cart(s), ["10.1.0.1", "10.1.0.7"], 3000);
    await until(() => lookupA(s.port, name("gone")), "NXDOMAIN", 3000);
  });

  it("relists after 410 Gone in the stream and forgets objects deleted while disconnected", async () => {
    api.apply(service("gone"));
    api.apply(slice("gone-1", "gone", ["10.2.0.1"]));
    const s = await start();
    await until(() => lookupA(s.port, name("gone")), ["10.2.0.1"]);
    const lists = api.countRequests({ path: "/apis/discovery.k8s.io/v1/endpointslices", watch: false });
    api.dropWatches();
    api.remove("EndpointSlice", NS, "gone-1");
    api.remove("Service", NS, "gone");
    api.apply(slice("cart-1", "cart", ["10.1.0.5"]));
    api.compact();
    await until(() => lookupA(s.port, name("gone")), "NXDOMAIN", 3000);
    await until(() => cart(s), ["10.1.0.5"], 3000);
    expect(
      api.countRequests({ path: "/apis/discovery.k8s.io/v1/endpointslices", watch: false }),
    ).toBeGreaterThan(lists);
  });

  it("relists after 410 Gone on connect and ends with the API's state", async () => {
    const s = await start();
    await until(() => cart(s), ["10.1.0.1", "10.1.0.2"]);
    const lists = api.countRequests({ watch: false });
    api.goneOnConnect(4);
    api.dropWatches();
    api.remove("EndpointSlice", NS, "cart-1");
    api.apply(slice("cart-2", "cart", ["10.1.0.6"]));
    await until(() => cart(s), ["10.1.0.6"], 3000);
    // Each 410 is followed by a relist, the later ones in a row after a short delay.
    await until(async () => api.countRequests({ watch: false }) >= lists + 4, true, 3000);
  });

  it("does not relist in a tight loop when every new watch is answered 410 Gone", async () => {
    const { log, lines } = capturedLog();
    const s = await start({ log });
    await until(() => cart(s), ["10.1.0.1", "10.1.0.2"]);
    const path = "/api/v1/services";
    const lists = api.countRequests({ path, watch: false });
    api.goneOnConnect(1_000_000);
    api.dropWatches();
    api.apply(slice("cart-1", "cart", ["10.1.0.7"]));
    await sleep(3000);
    // Each relist after the first waits a jittered delay growing to 0.5 s: about ten in 3 s, where an immediate
    // relist would make hundreds.
    const relists = api.countRequests({ path, watch: false }) - lists;
    expect(relists).toBeGreaterThanOrEqual(3);
    expect(relists).toBeLessThanOrEqual(25);
    expect(lines.some((l) => l.msg.startsWith("watch expired (410 Gone) again"))).toBe(true);
    api.goneOnConnect(0);
    await until(() => cart(s), ["10.1.0.7"], 3000);
  });

  it("recovers from HTTP 500s on lists and watches", async () => {
    const s = await start();
    await until(() => cart(s), ["10.1.0.1", "10.1.0.2"]);
    const errors = api.requests.length;
    api.failNext(12, 500);
    api.dropWatches();
    api.apply(slice("cart-1", "cart", ["10.1.0.8"]));
    await until(() => cart(s), ["10.1.0.8"], 4000);
    expect(api.requests.length).toBeGreaterThan(errors + 12);
  });

  it("recovers through slow responses, at start and after a drop", async () => {
    api.setDelay(700);
    const s = await start({ silenceTimeout: 2 });
    expect(await cart(s)).toBe("SERVFAIL");
    await until(() => cart(s), ["10.1.0.1", "10.1.0.2"], 5000);
    api.dropWatches();
    api.apply(slice("cart-1", "cart", ["10.1.0.4"]));
    await until(() => cart(s), ["10.1.0.4"], 5000);
  });

  it("asks for bookmarks and a server-side timeout on every watch", async () => {
    const s = await start();
    await until(() => cart(s), ["10.1.0.1", "10.1.0.2"]);
    const watches = api.requests.filter((r) => r.query["watch"] === "true");
    expect(watches.length).toBeGreaterThanOrEqual(4);
    for (const w of watches)
      expect(w.query).toMatchObject({ allowWatchBookmarks: "true", timeoutSeconds: "300" });
  });

  it("restarts a watch that stays open but goes silent within the silence timeout plus one backoff delay", async () => {
    const { log, lines } = capturedLog();
    const s = await start({ log, silenceTimeout: 1 });
    await until(() => cart(s), ["10.1.0.1", "10.1.0.2"]);
    // Let bookmarks flow for a while: a healthy watch is never mistaken for a silent one.
    await sleep(1500);
    expect(lines.filter((l) => String(l["err"]).includes("WatchSilentError"))).toHaveLength(0);
    api.silenceWatches();
    const silenced = Date.now();
    api.apply(slice("cart-1", "cart", ["10.1.0.3"]));
    expect(await cart(s)).toEqual(["10.1.0.1", "10.1.0.2"]);
    // Bound: 1 s of silence since the last bookmark (at most 0.2 s before), then a delay of at most 0.5 s.
    await until(() => cart(s), ["10.1.0.3"], 3000);
    const took = Date.now() - silenced;
    expect(took).toBeGreaterThan(700);
    expect(took).toBeLessThan(2200);
    expect(lines.some((l) => String(l["err"]).includes("WatchSilentError"))).toBe(true);
  });

  it("never notices a silent watch when the silence timeout is long (the fault is real)", async () => {
    const s = await start({ silenceTimeout: 60 });
    await until(() => cart(s), ["10.1.0.1", "10.1.0.2"]);
    api.silenceWatches();
    api.apply(slice("cart-1", "cart", ["10.1.0.3"]));
    await sleep(2500);
    expect(await cart(s)).toEqual(["10.1.0.1", "10.1.0.2"]);
  });

  it("abandons a list that never answers and syncs once the API server answers again", async () => {
    api.setDelay(60_000);
    const s = await start({ silenceTimeout: 1 });
    await sleep(1200);
    expect(await cart(s)).toBe("SERVFAIL");
    api.setDelay(0);
    const took = await until(() => cart(s), ["10.1.0.1", "10.1.0.2"], 4000);
    // The lists still waiting are abandoned 1 s after they began; the next attempt follows within 0.5 s.
    expect(took).toBeLessThan(2500);
  });

  describe("lists in pages", () => {
    /** More Services than two pages hold, each answering with its own cluster IP. */
    const MANY = 1_100;
    const vip = (i: number) => `10.96.${i >> 8}.${i & 255}`;
    const vipService = (i: number, clusterIP = vip(i)) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: `v${i}`, namespace: NS },
      spec: { clusterIP, ports: [{ name: "http", port: 80, protocol: "TCP" }] },
    });
    const servicesPath = "/api/v1/services";
    const serviceLists = () =>
      api.requests.filter((r) => r.path === servicesPath && r.query.watch === undefined).map((r) => r.query);

    beforeEach(() => {
      for (let i = 0; i < MANY; i++) api.apply(vipService(i));
    });

    it("asks for pages of 500 and serves the objects of every page", async () => {
      const s = await start();
      await until(() => lookupA(s.port, name(`v${MANY - 1}`)), [vip(MANY - 1)]);
      for (const i of [0, 499, 500, 999, 1000])
        expect(await lookupA(s.port, name(`v${i}`))).toEqual([vip(i)]);
      const pages = serviceLists();
      expect(pages.map((q) => q.limit)).toEqual(["500", "500", "500"]);
      expect(pages[0]!.continue).toBeUndefined();
      expect(pages[1]!.continue).toBeTruthy();
      expect(pages[2]!.continue).toBeTruthy();
    });

    it("starts the list over when its continue token has expired (410 Gone), ending with the API's state", async () => {
      const s = await start();
      await until(() => lookupA(s.port, name(`v${MANY - 1}`)), [vip(MANY - 1)]);
      const before = serviceLists().length;
      // Changes the watch misses, then compaction: the relist's second page finds its token expired.
      api.dropWatches();
      api.remove("Service", NS, `v${MANY - 1}`);
      api.apply(vipService(700, "10.97.0.7"));
      api.compact();
      api.expireContinueTokens(1);
      await until(() => lookupA(s.port, name(`v${MANY - 1}`)), "NXDOMAIN", 4000);
      expect(await lookupA(s.port, name("v700"))).toEqual(["10.97.0.7"]);
      expect(await lookupA(s.port, name("v0"))).toEqual([vip(0)]);
      const relists = serviceLists().slice(before);
      // The failed relist (a first page, then 410 on the second), then one complete relist from the start.
      expect(relists.filter((q) => q.continue === undefined).length).toBeGreaterThanOrEqual(2);
      expect(relists.at(-3)?.continue).toBeUndefined();
    });
  });

  it("answers during relists with the old or the new complete state, never a partial one or a step back", async () => {
    const SERVICES = 12;
    const ROUNDS = 8;
    /** Per Service, every A answer it has had in the API server, in order. */
    const history: string[][] = [];
    const ipsOf = (i: number, g: number) => [`10.${g}.${i}.1`, `10.${g}.${i}.2`];
    const key = (ips: readonly string[]) => [...ips].sort().join(",");
    const sliceOf = (i: number, g: number) => (i % 2 === 0 ? `s${i}-a` : `s${i}-g${g}`);
    const setGeneration = (i: number, g: number) => {
      const h = history[i]!;
      const previous = h[h.length - 1]!.split(",");
      api.apply(slice(sliceOf(i, g), `s${i}`, ipsOf(i, g)));
      if (i % 2 === 1 && g > 0) {
        // Odd Services move to a slice of a new name: for a moment the API holds both slices.
        h.push(key([...previous, ...ipsOf(i, g)]));
        api.remove("EndpointSlice", NS, sliceOf(i, g - 1));
      }
      h.push(key(ipsOf(i, g)));
    };
    for (let i = 0; i < SERVICES; i++) {
      api.apply(service(`s${i}`));
      history.push([""]);
      setGeneration(i, 0);
      history[i]!.shift();
    }
    const s = await start();
    await until(() => lookupA(s.port, name(`s${SERVICES - 1}`)), ipsOf(SERVICES - 1, 0).sort());
    const lists = api.countRequests({ path: "/apis/discovery.k8s.io/v1/endpointslices", watch: false });

    let done = false;
    const seen = new Array<number>(SERVICES).fill(0);
    const problems: string[] = [];
    let answers = 0;
    const hammer = (async () => {
      for (let n = 0; !done; n++) {
        const i = n % SERVICES;
        const got = await lookupA(s.port, name(`s${i}`));
        answers++;
        const index = typeof got === "string" ? -1 : history[i]!.indexOf(key(got));
        if (index < 0) problems.push(`s${i}: ${JSON.stringify(got)}`);
        else if (index < seen[i]!) problems.push(`s${i}: went back from state ${seen[i]} to ${index}`);
        else seen[i] = index;
      }
    })();
    for (let g = 1; g <= ROUNDS; g++) {
      // Changes the informers miss, then compaction: each reconnect gets 410 Gone and relists.
      api.dropWatches();
      for (let i = 0; i < SERVICES; i++) setGeneration(i, g);
      api.compact();
      await sleep(250);
    }
    for (let i = 0; i < SERVICES; i++)
      await until(() => lookupA(s.port, name(`s${i}`)), ipsOf(i, ROUNDS).sort());
    done = true;
    await hammer;
    expect(problems).toEqual([]);
    expect(answers).toBeGreaterThan(100);
    expect(
      api.countRequests({ path: "/apis/discovery.k8s.io/v1/endpointslices", watch: false }),
    ).toBeGreaterThanOrEqual(lists + ROUNDS / 2);
  });
});

describe("--namespace", () => {
  let api: FakeApiServer;
  let kubeconfig: string;
  let server: TestServer | undefined;

  beforeEach(async () => {
    api = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
    kubeconfig = await api.writeKubeconfig(await mkdtemp(path.join(tmpdir(), "podns-ns-")));
    for (const [ns, octet] of [
      ["shop", 1],
      ["tools", 2],
      ["other", 3],
    ] as const) {
      api.apply(service("web", ns));
      api.apply(slice("web-1", "web", [`10.${octet}.0.1`], ns));
    }
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await api.stop();
  });

  it("watches and serves only the namespaces named, through their namespaced collections", async () => {
    server = await startPodns({
      kube: { kind: "kubeconfig", file: kubeconfig },
      backoff: FAST,
      namespaces: ["shop", "tools"],
    });
    const s = server;
    await until(() => lookupA(s.port, name("web", "shop")), ["10.1.0.1"]);
    expect(await lookupA(s.port, name("web", "tools"))).toEqual(["10.2.0.1"]);
    expect(await lookupA(s.port, name("web", "other"))).toBe("NXDOMAIN");

    api.apply(service("api", "other"));
    api.apply(slice("api-1", "api", ["10.3.0.9"], "other"));
    api.apply(slice("web-1", "web", ["10.3.0.2"], "other"));
    // A change in a watched namespace, made after those, shows that the events before it were processed.
    api.apply(slice("web-1", "web", ["10.1.0.2"], "shop"));
    await until(() => lookupA(s.port, name("web", "shop")), ["10.1.0.2"]);
    expect(await lookupA(s.port, name("web", "other"))).toBe("NXDOMAIN");
    expect(await lookupA(s.port, name("api", "other"))).toBe("NXDOMAIN");
    expect(await lookupA(s.port, `other.svc.${ZONE}`)).toBe("NXDOMAIN");

    const paths = new Set(api.requests.map((r) => r.path));
    expect([...paths].sort()).toEqual([
      "/api/v1/namespaces/shop/pods",
      "/api/v1/namespaces/shop/services",
      "/api/v1/namespaces/tools/pods",
      "/api/v1/namespaces/tools/services",
      "/api/v1/nodes",
      "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices",
      "/apis/discovery.k8s.io/v1/namespaces/tools/endpointslices",
    ]);
    expect(s.podns.catalog.counts().services).toBe(2);
  });

  it("limits the manifest files to the namespaces named", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "podns-ns-files-"));
    const docs = ["shop", "other"].flatMap((ns, i) => [
      service("web", ns),
      slice("web-1", "web", [`10.${i}.0.1`], ns),
    ]);
    await writeFile(path.join(dir, "cluster.json"), JSON.stringify({ kind: "List", items: docs }));
    server = await startPodns({ sources: [dir], kube: { kind: "none" }, namespaces: ["shop"] });
    const s = server;
    await until(() => lookupA(s.port, name("web", "shop")), ["10.0.0.1"]);
    expect(await lookupA(s.port, name("web", "other"))).toBe("NXDOMAIN");
    expect(s.podns.catalog.counts().services).toBe(1);
  });

  it("takes repeated flags and a comma list in PODNS_NAMESPACE, and refuses names that are not namespaces", () => {
    const parse = (args: string[], env?: string) => {
      const cmd = serveOptions(new Command("serve").exitOverride().configureOutput({ writeErr: () => {} }));
      let namespaces: readonly string[] | undefined;
      cmd.action((opts) => {
        namespaces = toServeConfig(opts, false).namespaces;
      });
      vi.stubEnv("PODNS_NAMESPACE", env);
      try {
        cmd.parse(["--source", "zones/", ...args], { from: "user" });
      } finally {
        vi.unstubAllEnvs();
      }
      return namespaces;
    };
    expect(parse(["--namespace", "shop", "--namespace", "tools,shop"])).toEqual(["shop", "tools"]);
    expect(parse([], "shop, tools")).toEqual(["shop", "tools"]);
    expect(parse(["--namespace", "ops"], "shop,tools")).toEqual(["ops"]);
    expect(parse([])).toEqual([]);
    expect(() => parse(["--namespace", "Shop"])).toThrow(/not a namespace name/);
    expect(() => parse(["--namespace", "a".repeat(64)])).toThrow(/not a namespace name/);
  });
});
