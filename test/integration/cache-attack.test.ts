/**
 * Attacks on the encoded-response cache of the query path (src/server/handler.ts). The oracle throughout: a fresh
 * QueryHandler with an empty cache on the same store gives the right bytes (IDs zeroed); a cached handler that
 * disagrees served a response built for another shape, or one gone stale.
 */

import dgram from "node:dgram";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isIPv6 } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { Packet } from "dns2";
import { afterAll, describe, expect, it } from "vitest";
import { QType as Type } from "../../src/dns/constants.js";
import { seededRandom } from "../../src/dns/shuffle.js";
import { type AnswerPolicy, QueryHandler, type Transport } from "../../src/server/handler.js";
import { listenUdp } from "../../src/server/udp.js";
import { buildQuery, clientSubnetOption, encodeName, readHeader } from "../support/raw-dns.js";
import {
  editFixture,
  NO_METRICS,
  removeWritableCopies,
  WEIGHT_FIXTURES,
  withoutId,
  writableCopy,
  zoneHarness,
} from "../support/zone-harness.js";

const STABLE: AnswerPolicy = { shuffle: false, maxAnswers: 0 };

const dirs: string[] = [];
afterAll(() => {
  removeWritableCopies();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Asks `qh`, and a fresh handler on the same store, and expects the same bytes; returns the cached handler's answer. */
function expectFresh(
  qh: QueryHandler,
  store: ConstructorParameters<typeof QueryHandler>[0],
  query: Buffer,
  transport: Transport = "udp",
  client = "127.0.0.1",
  policy: AnswerPolicy = STABLE,
): Buffer {
  const got = qh.handle(query, transport, client);
  const want = new QueryHandler(store, NO_METRICS, policy).handle(query, transport, client);
  expect(withoutId(got)).toBe(withoutId(want));
  return got!;
}

function answersOf(out: Buffer): string[] {
  return Packet.parse(out).answers.map(
    (rr) => `${rr.name} ${rr.type} ${rr.address ?? rr.domain ?? rr.target ?? ""}`,
  );
}

const STOREFRONT = "storefront.shop.svc.cluster.local.";

describe("cache: stale answers after a change", () => {
  it("a Service change after a zone file came (fresh ZoneIndex) is seen, not the cached answer", () => {
    const dir = writableCopy();
    const h = zoneHarness({ paths: [dir] });
    const qh = new QueryHandler(h.store, NO_METRICS, STABLE);
    const q = buildQuery({ qname: STOREFRONT, qtype: Type.A });
    expect(answersOf(expectFresh(qh, h.store, q)).join()).toContain("10.244.1.15");
    // A zone file for another zone: the set of zones changes, and the store starts a fresh index.
    writeFileSync(path.join(dir, "example.org.zone"), "$ORIGIN example.org.\n$TTL 60\nwww IN A 192.0.2.1\n");
    expect(h.reload()).toBe(true);
    expectFresh(qh, h.store, q);
    // Now storefront's endpoint moves. The cached answer depends on a node of the old index, which never changes.
    editFixture(dir, "storefront.yaml", (t) => t.replace("10.244.1.15", "10.244.1.99"));
    expect(h.reload()).toBe(true);
    const fresh = new QueryHandler(h.store, NO_METRICS, STABLE).handle(q, "udp")!;
    expect(answersOf(fresh).join()).toContain("10.244.1.99");
    expect(answersOf(qh.handle(q, "udp")!).join()).toContain("10.244.1.99");
  });

  it("a zone that went away is REFUSED, not answered from the cache", () => {
    const dir = writableCopy();
    writeFileSync(path.join(dir, "example.org.zone"), "$ORIGIN example.org.\n$TTL 60\nwww IN A 192.0.2.1\n");
    const h = zoneHarness({ paths: [dir] });
    const qh = new QueryHandler(h.store, NO_METRICS, STABLE);
    const q = buildQuery({ qname: "www.example.org.", qtype: Type.A });
    expect(readHeader(expectFresh(qh, h.store, q)).an).toBe(1);
    rmSync(path.join(dir, "example.org.zone"));
    expect(h.reload()).toBe(true);
    expect(readHeader(new QueryHandler(h.store, NO_METRICS, STABLE).handle(q, "udp")!).rcode).toBe(5);
    expect(readHeader(qh.handle(q, "udp")!).rcode).toBe(5);
  });

  it("a CNAME answered before the first sync (target not yet served) is completed after it", () => {
    const dir = writableCopy();
    editFixture(
      dir,
      "cluster.local.zone",
      (t) => `${t}\nalias.shop IN CNAME storefront.shop.svc.cluster.local.\n`,
    );
    const h = zoneHarness({ paths: [dir], unsynced: ["kubernetes"] });
    const qh = new QueryHandler(h.store, NO_METRICS, STABLE);
    const q = buildQuery({ qname: "alias.shop.cluster.local.", qtype: Type.A });
    // Before the sync only static data is served: the chain stops at storefront (TXT only), NOERROR, no SOA.
    expect(readHeader(expectFresh(qh, h.store, q)).an).toBe(1);
    h.sync("kubernetes");
    const fresh = new QueryHandler(h.store, NO_METRICS, STABLE).handle(q, "udp")!;
    expect(readHeader(fresh).an).toBeGreaterThan(1);
    expect(withoutId(qh.handle(q, "udp"))).toBe(withoutId(fresh));
  });

  it("an SRV answer gains the additional A record of a target that appears later", () => {
    const dir = writableCopy();
    editFixture(
      dir,
      "cluster.local.zone",
      (t) => `${t}\n_http._tcp.extra.shop IN SRV 0 0 80 late.shop.svc.cluster.local.\n`,
    );
    const h = zoneHarness({ paths: [dir] });
    const qh = new QueryHandler(h.store, NO_METRICS, STABLE);
    const q = buildQuery({ qname: "_http._tcp.extra.shop.cluster.local.", qtype: Type.SRV, opt: {} });
    expect(readHeader(expectFresh(qh, h.store, q)).ar).toBe(1); // the OPT only
    writeFileSync(
      path.join(dir, "late.yaml"),
      [
        "apiVersion: v1",
        "kind: Service",
        "metadata: { name: late, namespace: shop }",
        "spec:",
        "  type: ClusterIP",
        "  clusterIP: 10.96.77.77",
        "  clusterIPs: [10.96.77.77]",
        "  ports: [{ name: http, port: 80, protocol: TCP }]",
        "",
      ].join("\n"),
    );
    expect(h.reload()).toBe(true);
    const fresh = new QueryHandler(h.store, NO_METRICS, STABLE).handle(q, "udp")!;
    expect(readHeader(fresh).ar).toBe(2); // A of late + OPT
    expect(withoutId(qh.handle(q, "udp"))).toBe(withoutId(fresh));
  });
});

/** Flips the ASCII letters of `name` by a seeded coin: the question must come back in the querier's case. */
function mixCase(name: string, random: () => number): string {
  return [...name].map((c) => (random() < 0.5 ? c.toUpperCase() : c)).join("");
}

/** Every shape the cache tells apart, and some it must not (flags, letter case, ID), for one name. */
function shapes(qname: string | Buffer, random: () => number): { query: Buffer; transport: Transport }[] {
  const out: { query: Buffer; transport: Transport }[] = [];
  const qtypes = [Type.A, Type.AAAA, Type.SRV, Type.TXT, Type.CNAME, Type.ANY, Type.SOA, Type.NS, Type.PTR];
  const opts = [
    undefined,
    { udpSize: 0 },
    { udpSize: 512 },
    { udpSize: 700 },
    { udpSize: 1232 },
    { udpSize: 4096, dnssecOk: true },
    { udpSize: 1232, options: [clientSubnetOption("10.244.1.0", 24)] },
    { udpSize: 1232, options: [clientSubnetOption("127.0.0.21")] },
    { udpSize: 512, dnssecOk: true, options: [clientSubnetOption("127.0.0.22")] },
    { udpSize: 1232, options: [clientSubnetOption("fd00:20::22")] },
    { udpSize: 1232, options: [clientSubnetOption("0.0.0.0", 0)] },
    { udpSize: 1232, options: [{ code: 10, data: Buffer.alloc(8, 7) }] }, // a COOKIE: not echoed
  ];
  const flagsList = [
    0x0100,
    0x0000,
    0x0110,
    0x0010,
    0x0100 | 0x0400 | 0x0200 | 0x0080 | 0x0040 | 0x0020 | 0x000f,
  ];
  for (const qtype of qtypes) {
    for (const qclass of [1, 3, 255]) {
      if (qclass !== 1 && qtype !== Type.TXT && qtype !== Type.A) continue;
      for (const opt of opts) {
        const flags = flagsList[Math.floor(random() * flagsList.length)]!;
        const name = typeof qname === "string" ? mixCase(qname, random) : qname;
        const id = Math.floor(random() * 65536);
        out.push({
          query: buildQuery({ id, flags, qname: name, qtype, qclass, opt }),
          transport: random() < 0.2 ? "tcp" : "udp",
        });
      }
    }
  }
  return out;
}

/**
 * A handler whose cache is emptied before each use: as good as a new one, without allocating a 50,000-entry LRU
 * per query.
 */
const oracles = new Map<string, QueryHandler>();
const storeIds = new WeakMap<object, number>();
let nextStoreId = 0;
function uncached(store: ConstructorParameters<typeof QueryHandler>[0], policy: AnswerPolicy): QueryHandler {
  if (!storeIds.has(store)) storeIds.set(store, nextStoreId++);
  const key = `${storeIds.get(store)} ${JSON.stringify(policy)}`;
  let qh = oracles.get(key);
  if (qh === undefined) {
    qh = new QueryHandler(store, NO_METRICS, policy);
    oracles.set(key, qh);
  }
  (qh as unknown as { cache: { clear(): void } }).cache.clear();
  return qh;
}

/** Cached answers against fresh ones for every shape of every name, from every client, in a seeded shuffled order. */
function compareAll(
  qh: QueryHandler,
  store: ConstructorParameters<typeof QueryHandler>[0],
  names: readonly (string | Buffer)[],
  clients: readonly string[],
  policy: AnswerPolicy,
  seed: number,
): void {
  const random = seededRandom(seed);
  const all = names.flatMap((n) => shapes(n, random));
  const first: string[] = [];
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < all.length; i++) {
      const { query, transport } = all[Math.floor(random() * all.length)]!;
      const client = clients[Math.floor(random() * clients.length)]!;
      const got = qh.handle(query, transport, client);
      const want = uncached(store, policy).handle(query, transport, client);
      // The ID is echoed too.
      const wrong =
        withoutId(got) !== withoutId(want) || (got !== null && got.readUInt16BE(0) !== query.readUInt16BE(0));
      if (wrong && first.length < 3) first.push(`${query.toString("hex")} ${transport} ${client}`);
    }
  }
  expect(first).toEqual([]);
}

describe("cache: every shape against a fresh handler", () => {
  const CH_NAMES = ["id.server.", "version.bind.", "hostname.bind."];
  const ODD_NAMES = [
    ".",
    Buffer.from([1, 0x2e, 1, 0, 4, 0x73, 0x68, 0x6f, 0x70, 0]), // \..\000.shop.
    Buffer.concat([Buffer.from([4, 0x5c, 0x30, 0x34, 0x36]), encodeName("cluster.local")]), // "\046" literally
    Buffer.concat([Buffer.from([3, 0x57, 0x5c, 0x42]), encodeName("svc.cluster.local")]),
    `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(47)}.cluster.local.`,
  ];

  it("serves the cluster fixtures (ExternalName chains, SRV, NXDOMAIN, NODATA, CH, odd names) as a fresh handler would, across changes", () => {
    const dir = writableCopy();
    const h = zoneHarness({ paths: [dir], preferSameZone: true });
    for (const policy of [STABLE, { shuffle: false, maxAnswers: 1 }]) {
      const qh = new QueryHandler(h.store, NO_METRICS, { ...policy, identity: "ns1" });
      const names = [
        STOREFRONT,
        "frontend.shop.svc.cluster.local.",
        "legacy-checkout.shop.svc.cluster.local.",
        "_memcache._tcp.cache.shop.svc.cluster.local.",
        "_https._tcp.checkout.shop.svc.cluster.local.",
        "cache.shop.svc.cluster.local.",
        "nope.shop.svc.cluster.local.",
        "shop.svc.cluster.local.",
        "cluster.local.",
        "dns-version.cluster.local.",
        "15.1.244.10.in-addr.arpa.",
        ...CH_NAMES,
        ...ODD_NAMES,
      ];
      const clients = ["127.0.0.1", "10.244.1.15", "10.244.2.23", "::1"];
      const fresh = { ...policy, identity: "ns1" };
      compareAll(qh, h.store, names, clients, fresh, 1);
      // Changes: an endpoint moves, storefront goes (frontend's chain now dangles), a Service comes back.
      editFixture(dir, "storefront.yaml", (t) => t.replace("10.244.1.15", "10.244.1.99"));
      expect(h.reload()).toBe(true);
      compareAll(qh, h.store, names, clients, fresh, 2);
      const saved = readFileSync(path.join(dir, "storefront.yaml"), "utf8");
      rmSync(path.join(dir, "storefront.yaml"));
      expect(h.reload()).toBe(true);
      compareAll(qh, h.store, names, clients, fresh, 3);
      writeFileSync(path.join(dir, "storefront.yaml"), saved.replace("10.244.1.99", "10.244.1.15"));
      expect(h.reload()).toBe(true);
      compareAll(qh, h.store, names, clients, fresh, 4);
    }
  });

  it("serves the zoned weights fixtures by the querier's zone (source address or ECS) as a fresh handler would", () => {
    const dir = writableCopy(WEIGHT_FIXTURES);
    const h = zoneHarness({ paths: [dir] });
    const policy: AnswerPolicy = { shuffle: false, maxAnswers: 2 };
    const qh = new QueryHandler(h.store, NO_METRICS, policy);
    const names = [
      "zonal.geo.svc.cluster.local.",
      "_http._tcp.zonal.geo.svc.cluster.local.",
      "hinted.geo.svc.cluster.local.",
      "plain.geo.svc.cluster.local.",
      "weighted.lb.svc.cluster.local.",
      "sampled.lb.svc.cluster.local.",
    ];
    const clients = ["127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24", "fd00:20::22", "127.0.0.1"];
    compareAll(qh, h.store, names, clients, policy, 5);
    // probe-a's node moves to zone-b.
    editFixture(dir, "nodes.yaml", (t) =>
      t.replace("topology.kubernetes.io/zone: zone-a", "topology.kubernetes.io/zone: zone-b"),
    );
    expect(h.reload()).toBe(true);
    compareAll(qh, h.store, names, clients, policy, 6);
  });
});

/** A folder with one Service `many.big` of `n` ready IPv4 endpoints 10.250.x.y, unweighted. */
function manyEndpoints(n: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), "podns-cache-attack-"));
  dirs.push(dir);
  const endpoints = Array.from(
    { length: n },
    (_, i) =>
      `  - addresses: [10.250.${i >> 8}.${i & 0xff}]\n    conditions: { ready: true, serving: true, terminating: false }\n`,
  ).join("");
  writeFileSync(
    path.join(dir, "many.yaml"),
    `apiVersion: v1
kind: Service
metadata: { name: many, namespace: big }
spec:
  type: ClusterIP
  clusterIP: 10.96.99.99
  clusterIPs: [10.96.99.99]
  selector: { app: many }
  ports: [{ name: http, port: 80, targetPort: 8080, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: many-abcde
  namespace: big
  labels: { kubernetes.io/service-name: many }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
${endpoints}`,
  );
  return dir;
}

const MANY = "many.big.svc.cluster.local.";

describe("cache: weighted A/AAAA blocks", () => {
  it("--max-answers 3 answers 3 records that fit in 512 bytes instead of an empty TC answer (README: 'a weighted sample that fits')", () => {
    const h = zoneHarness({ paths: [manyEndpoints(40)] });
    const qh = new QueryHandler(h.store, NO_METRICS, {
      shuffle: true,
      maxAnswers: 3,
      random: seededRandom(1),
    });
    const out = qh.handle(buildQuery({ qname: MANY, qtype: Type.A }), "udp")!;
    const hdr = readHeader(out);
    expect({ tc: hdr.tc, an: hdr.an }).toEqual({ tc: false, an: 3 });
  });

  it("reorders cached blocks into valid messages: a sample of distinct addresses, with TC, ECS, DO and case intact", () => {
    const h = zoneHarness({ paths: [manyEndpoints(40)] });
    const all = new Set(Array.from({ length: 40 }, (_, i) => `10.250.0.${i}`));
    const random = seededRandom(7);
    for (const maxAnswers of [0, 1, 5, 40, 100]) {
      const qh = new QueryHandler(h.store, NO_METRICS, {
        shuffle: true,
        maxAnswers,
        random: seededRandom(maxAnswers),
      });
      for (let i = 0; i < 300; i++) {
        const ecs = random() < 0.5 ? [clientSubnetOption("10.1.2.0", 24)] : undefined;
        const opt =
          random() < 0.2
            ? undefined
            : { udpSize: [512, 1232, 4096][i % 3]!, dnssecOk: random() < 0.5, options: ecs };
        const qname = mixCase(MANY, random);
        const transport: Transport = random() < 0.3 ? "tcp" : "udp";
        const query = buildQuery({ id: i, flags: i % 2 ? 0x0110 : 0, qname, qtype: Type.A, opt });
        const out = qh.handle(query, transport, "127.0.0.1")!;
        const p = Packet.parse(out);
        const hdr = readHeader(out);
        expect(hdr.id).toBe(i);
        expect(hdr.rd).toBe(i % 2 === 1);
        expect((out.readUInt16BE(2) & 0x0010) !== 0).toBe(i % 2 === 1);
        expect(out.subarray(12, 12 + qname.length + 1).toString("latin1")).toBe(
          encodeName(qname).toString("latin1"),
        );
        const addrs = p.answers.map((a) => a.address!);
        expect(new Set(addrs).size).toBe(addrs.length);
        for (const a of addrs) expect(all.has(a)).toBe(true);
        const fits =
          transport === "tcp" ||
          (opt !== undefined && opt.udpSize >= 1232) ||
          maxAnswers === 1 ||
          maxAnswers === 5;
        if (hdr.tc) expect(addrs.length).toBe(0);
        else expect(addrs.length).toBe(maxAnswers === 0 ? 40 : Math.min(40, maxAnswers));
        if (!hdr.tc && fits && transport === "udp")
          expect(out.length).toBeLessThanOrEqual(opt ? Math.max(512, Math.min(opt.udpSize, 1232)) : 512);
        // OPT echoed with DO, and the ECS option with scope 0 (not zoned).
        const optRr = p.additionals.find((a) => a.type === 41) as unknown as { ttl?: number } | undefined;
        expect(optRr !== undefined).toBe(opt !== undefined);
        if (opt !== undefined) {
          const ttl = out.readUInt32BE(out.length - (ecs ? 4 + 4 + 3 : 0) - 6);
          expect((ttl & 0x8000) !== 0).toBe(opt.dnssecOk);
        }
      }
    }
  });
});

describe("cache: bounds", () => {
  it("keeps at most 16 responses per name and 50,000 names, and answers every shape beyond them correctly", () => {
    const h = zoneHarness();
    const qh = new QueryHandler(h.store, NO_METRICS, STABLE);
    const cache = (
      qh as unknown as { cache: { size: number; calculatedSize: number; get(k: string): unknown[] } }
    ).cache;
    // 300 client subnets for one name: each is a shape of its own.
    for (let i = 0; i < 300; i++) {
      const q = buildQuery({
        qname: STOREFRONT,
        qtype: Type.A,
        opt: { options: [clientSubnetOption(`10.${i >> 8}.${i & 255}.0`, 24)] },
      });
      const out = qh.handle(q, "udp")!;
      expect(withoutId(out)).toBe(withoutId(uncached(h.store, STABLE).handle(q, "udp")));
    }
    expect(cache.get(STOREFRONT)!.length).toBe(16);
    // 52,000 names: the LRU holds at most 50,000.
    for (let i = 0; i < 52_000; i++)
      qh.handle(buildQuery({ qname: `n${i}.shop.svc.cluster.local.`, qtype: Type.A }), "udp");
    expect(cache.size).toBeLessThanOrEqual(50_000);
    expect(cache.calculatedSize).toBeLessThanOrEqual(32 * 1024 * 1024);
  });

  it("holds the heap near the 32 MiB it accounts for under many (name, subnet) shapes", () => {
    const h = zoneHarness();
    const qh = new QueryHandler(h.store, NO_METRICS, STABLE);
    const cache = (qh as unknown as { cache: { size: number; calculatedSize: number } }).cache;
    v8.setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    gc();
    const before = process.memoryUsage();
    for (let i = 0; i < 20_000; i++) {
      for (let s = 0; s < 16; s++) {
        const q = buildQuery({
          qname: `${"x".repeat(50)}${i}.${"y".repeat(60)}.shop.svc.cluster.local.`,
          qtype: Type.A,
          opt: { options: [clientSubnetOption(`fd00:${s.toString(16)}::1`, 128)] },
        });
        qh.handle(q, "udp");
      }
    }
    gc();
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
    console.log(
      `cache ${cache.size} names, ${cache.calculatedSize} bytes accounted; heap+arrayBuffers grew ${grown}`,
    );
    // The accounted size includes an estimate of each entry's objects besides its bytes.
    expect(grown).toBeLessThan(2 * cache.calculatedSize);
  });
});

describe("UDP send without a callback", () => {
  async function exchange(
    host: string,
    port: number,
    msg: Buffer,
    closeFirst = false,
  ): Promise<Buffer | null> {
    const socket = dgram.createSocket(isIPv6(host) ? "udp6" : "udp4");
    await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
    if (closeFirst) {
      // The answer goes to a port nobody listens on: ICMP port unreachable.
      socket.send(msg, port, host, () => socket.close());
      return null;
    }
    return new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 1000);
      socket.once("message", (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      socket.send(msg, port, host);
    }).finally(() => socket.close());
  }

  for (const host of ["127.0.0.1", "::1"]) {
    it(`answers on ${host}, keeps answering after replies to closed ports, from the cache with the right ID`, async () => {
      const h = zoneHarness();
      const qh = new QueryHandler(h.store, NO_METRICS, { shuffle: true, maxAnswers: 0 });
      let socket: dgram.Socket;
      try {
        socket = await listenUdp({ host, port: 0 }, qh, { answered() {} });
      } catch (err) {
        if (host === "::1" && (err as NodeJS.ErrnoException).code === "EADDRNOTAVAIL") return; // no IPv6 loopback
        throw err;
      }
      try {
        const port = socket.address().port;
        for (let i = 0; i < 50; i++) {
          await exchange(host, port, buildQuery({ id: i, qname: STOREFRONT, qtype: Type.A }), true);
        }
        for (let i = 0; i < 20; i++) {
          const q = buildQuery({
            id: 1000 + i,
            qname: mixCase(STOREFRONT, seededRandom(i)),
            qtype: Type.A,
            opt: {},
          });
          const reply = await exchange(host, port, q);
          expect(reply).not.toBeNull();
          expect(readHeader(reply!).id).toBe(1000 + i);
          expect(reply!.subarray(12, 12 + STOREFRONT.length + 1)).toEqual(
            q.subarray(12, 12 + STOREFRONT.length + 1),
          );
          expect(readHeader(reply!).an).toBe(2);
        }
      } finally {
        await new Promise<void>((resolve) => socket.close(() => resolve()));
      }
    });
  }
});
