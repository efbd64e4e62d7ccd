import { execFile } from "node:child_process";
/**
 * Weights over real UDP against an in-process podns serving test/fixtures/weights: the querier's zone from the
 * client socket's source address (bound to 127.0.0.x addresses that are pod IPs in the fixtures) or from an EDNS
 * Client Subnet option, read back by raw packets, dns2 and dig; and the weighted A order of a podns started with a
 * seeded random source, measured over 10,000 queries.
 */
import dgram from "node:dgram";
import { promisify } from "node:util";
import { Packet } from "dns2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../src/dns/shuffle.js";
import { dig } from "../support/dig.js";
import { type StartOptions, startPodns, type TestServer } from "../support/podns.js";
import { buildQuery, clientSubnetOption, type OptSpec, udpExchange } from "../support/raw-dns.js";
import { WEIGHT_FIXTURES } from "../support/zone-harness.js";

const Type = { A: 1, SRV: 33 } as const;
const SEED = 20_250_618;

const PROBE = {
  a: "127.0.0.21",
  b: "127.0.0.22",
  c: "127.0.0.23",
  unzoned: "127.0.0.24",
  unknown: "127.0.0.1",
};
const ZONE_A = ["10.244.1.11", "10.244.1.12"];
const ZONE_B = ["10.244.2.21", "10.244.2.22"];

function serve(options: StartOptions = {}): Promise<TestServer> {
  return startPodns({ sources: [WEIGHT_FIXTURES], kube: { kind: "none" }, ...options });
}

/** SRV answer of one query as `priority target-address`, sorted, e.g. `0 10-244-1-11`. */
async function priorities(
  server: TestServer,
  service: string,
  from: string,
  opt?: OptSpec,
): Promise<string[]> {
  const query = buildQuery({ qname: `_http._tcp.${service}.geo.svc.cluster.local`, qtype: Type.SRV, opt });
  const reply = await udpExchange(server.port, query, 1000, from);
  expect(reply).not.toBeNull();
  const p = Packet.parse(reply!);
  return p.answers.map((rr) => `${rr.priority} ${rr.target!.split(".")[0]}`).sort();
}

const preferring = (near: readonly string[], far: readonly string[]) =>
  [
    ...near.map((ip) => `0 ${ip.replaceAll(".", "-")}`),
    ...far.map((ip) => `1 ${ip.replaceAll(".", "-")}`),
  ].sort();
const flat = (...ips: string[]) => ips.map((ip) => `0 ${ip.replaceAll(".", "-")}`).sort();

/** One UDP socket bound to `from`, asking queries one after another, as a stub resolver on a pod would. */
async function askMany(port: number, queries: readonly Buffer[], from = PROBE.unknown): Promise<Buffer[]> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, from, resolve));
  try {
    const replies: Buffer[] = [];
    for (const query of queries) {
      replies.push(
        await new Promise<Buffer>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no answer within 1 s")), 1000);
          socket.once("message", (reply) => {
            clearTimeout(timer);
            resolve(reply);
          });
          socket.send(query, port, "127.0.0.1");
        }),
      );
    }
    return replies;
  } finally {
    socket.close();
  }
}

const aQueries = (qname: string, n: number) =>
  Array.from({ length: n }, (_, i) => buildQuery({ id: i & 0xffff, qname, qtype: Type.A }));
const addresses = (reply: Buffer) => Packet.parse(reply).answers.map((rr) => rr.address!);

function chiSquare(observed: readonly number[], probabilities: readonly number[]): number {
  const n = observed.reduce((a, b) => a + b, 0);
  return observed.reduce((sum, o, i) => sum + (o - n * probabilities[i]!) ** 2 / (n * probabilities[i]!), 0);
}
/** Upper 1% point of chi-square with 3 degrees of freedom. */
const CHI2_3DF_1PCT = 11.345;

const run = promisify(execFile);

describe("the querier's zone over UDP", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve({ random: seededRandom(SEED) });
  });
  afterAll(() => server.stop());

  it.each([
    {
      says: "a zone-a pod gets priority 0 for zone-a endpoints",
      from: PROBE.a,
      expected: preferring(ZONE_A, ZONE_B),
    },
    {
      says: "a zone-b pod gets priority 0 for zone-b endpoints",
      from: PROBE.b,
      expected: preferring(ZONE_B, ZONE_A),
    },
    {
      says: "a pod in a zone without endpoints gets one priority",
      from: PROBE.c,
      expected: flat(...ZONE_A, ...ZONE_B),
    },
    {
      says: "a pod on a node without a zone label gets one priority",
      from: PROBE.unzoned,
      expected: flat(...ZONE_A, ...ZONE_B),
    },
    {
      says: "an address that is no pod's gets one priority",
      from: PROBE.unknown,
      expected: flat(...ZONE_A, ...ZONE_B),
    },
  ])("from its source address: $says", async ({ from, expected }) => {
    expect(await priorities(server, "zonal", from)).toEqual(expected);
  });

  it.each([
    {
      says: "naming a zone-a pod places a querier of unknown address in zone-a",
      from: PROBE.unknown,
      ecs: PROBE.a,
      expected: preferring(ZONE_A, ZONE_B),
    },
    {
      says: "naming a zone-b pod overrides a zone-a source address",
      from: PROBE.a,
      ecs: PROBE.b,
      expected: preferring(ZONE_B, ZONE_A),
    },
    {
      says: "naming a pod in a zone without endpoints gives one priority",
      from: PROBE.unknown,
      ecs: PROBE.c,
      expected: flat(...ZONE_A, ...ZONE_B),
    },
  ])("from EDNS Client Subnet: $says", async ({ from, ecs, expected }) => {
    const opt = { options: [clientSubnetOption(ecs)] };
    expect(await priorities(server, "zonal", from, opt)).toEqual(expected);
  });

  it("from EDNS Client Subnet: an IPv6 address of a zone-b pod places the querier in zone-b", async () => {
    const opt = { options: [clientSubnetOption("fd00:20::22")] };
    expect(await priorities(server, "zonal", PROBE.unknown, opt)).toEqual(preferring(ZONE_B, ZONE_A));
  });

  it("follows hints.forZones for a topology-mode Auto Service", async () => {
    expect(await priorities(server, "hinted", PROBE.b)).toEqual(
      preferring(["10.244.1.33", "10.244.2.34"], ["10.244.1.31", "10.244.1.32"]),
    );
  });

  it("leaves a Service that asks for no preference with one priority", async () => {
    expect(await priorities(server, "plain", PROBE.a)).toEqual(flat("10.244.1.41", "10.244.2.42"));
  });

  it.each([
    { says: "a zone-a pod", from: PROBE.a, first: ZONE_A },
    { says: "a zone-b pod", from: PROBE.b, first: ZONE_B },
  ])("lists same-zone addresses first in every shuffled A answer to $says", async ({ from, first }) => {
    const replies = await askMany(server.port, aQueries("zonal.geo.svc.cluster.local", 200), from);
    const orders = replies.map(addresses);
    for (const a of orders) expect(a.slice(0, 2).sort()).toEqual(first);
    expect(new Set(orders.map((a) => a.join(" "))).size).toBe(4);
  });

  it("agrees with dig bound to a zone-a pod address", async () => {
    const r = await dig(server.port, "-b", PROBE.a, "SRV", "_http._tcp.zonal.geo.svc.cluster.local");
    const got = r.answer.map((line) => {
      const [, , , , priority, , , target] = line.split(" ");
      return `${priority} ${target!.split(".")[0]}`;
    });
    expect(got.sort()).toEqual(preferring(ZONE_A, ZONE_B));
  });

  it("agrees with dig sending a client subnet of a zone-b pod", async () => {
    const r = await dig(
      server.port,
      `+subnet=${PROBE.b}/32`,
      "SRV",
      "_http._tcp.zonal.geo.svc.cluster.local",
    );
    const got = r.answer.map((line) => {
      const [, , , , priority, , , target] = line.split(" ");
      return `${priority} ${target!.split(".")[0]}`;
    });
    expect(got.sort()).toEqual(preferring(ZONE_B, ZONE_A));
  });

  it.each([
    { says: "a zone-dependent answer covers the client's whole prefix", name: "zonal", scope: 32 },
    { says: "an answer that is the same for everyone covers every client", name: "plain", scope: 0 },
  ])("echoes the client-subnet option (RFC 7871 7.2.1): $says", async ({ name, scope }) => {
    const { stdout } = await run("dig", [
      "@127.0.0.1",
      "-p",
      String(server.port),
      "+time=2",
      "+tries=1",
      `+subnet=${PROBE.b}/32`,
      "SRV",
      `_http._tcp.${name}.geo.svc.cluster.local`,
    ]);
    expect(stdout).toContain(`CLIENT-SUBNET: ${PROBE.b}/32/${scope}`);
  });
});

describe("--prefer-same-zone over UDP", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve({ preferSameZone: true });
  });
  afterAll(() => server.stop());

  it("gives a Service that asks for no preference one for a zone-a pod", async () => {
    expect(await priorities(server, "plain", PROBE.a)).toEqual(preferring(["10.244.1.41"], ["10.244.2.42"]));
  });
});

describe("weighted A order over UDP with a seeded random source", () => {
  const WEIGHTED = [
    { address: "10.244.7.1", weight: 400 },
    { address: "10.244.7.2", weight: 200 },
    { address: "10.244.7.3", weight: 100 },
    { address: "10.244.7.4", weight: 100 },
  ];
  let server: TestServer;
  let replies: Buffer[];
  beforeAll(async () => {
    server = await serve({ random: seededRandom(SEED) });
    replies = await askMany(server.port, aQueries("weighted.lb.svc.cluster.local", 10_000));
  });
  afterAll(() => server.stop());

  it("puts each address first as often as its weight says over 10,000 queries (chi-square at 1%)", () => {
    const firsts = replies.map((r) => addresses(r)[0]);
    const observed = WEIGHTED.map((p) => firsts.filter((a) => a === p.address).length);
    expect(observed.reduce((a, b) => a + b, 0)).toBe(10_000);
    const probabilities = WEIGHTED.map((p) => p.weight / 800);
    expect(chiSquare(observed, probabilities)).toBeLessThan(CHI2_3DF_1PCT);
  });

  it("sends responses dns2 decodes whole, with all four addresses, the question and the ID", () => {
    replies.slice(0, 50).forEach((reply, i) => {
      const p = Packet.parse(reply);
      expect(p.header).toMatchObject({ id: i, qr: 1, aa: 1, tc: 0, rcode: 0 });
      expect(p.questions).toEqual([{ name: "weighted.lb.svc.cluster.local", type: Type.A, class: 1 }]);
      expect(p.answers.map((rr) => rr.address).sort()).toEqual(WEIGHTED.map((w) => w.address));
    });
  });

  it("sends responses dig decodes whole, in several orders", async () => {
    const orders = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const r = await dig(server.port, "A", "weighted.lb.svc.cluster.local");
      expect(r.rcode).toBe("NOERROR");
      const got = r.answer.map((line) => line.split(" ").pop()!);
      expect([...got].sort()).toEqual(WEIGHTED.map((w) => w.address));
      orders.add(got.join(" "));
    }
    expect(orders.size).toBeGreaterThan(1);
  });
});

describe("maxAnswers over UDP", () => {
  const SAMPLED = ["10.244.8.1", "10.244.8.2", "10.244.8.3", "10.244.8.4", "10.244.8.5"];
  let server: TestServer;
  beforeAll(async () => {
    server = await serve({ random: seededRandom(SEED), maxAnswers: 2 });
  });
  afterAll(() => server.stop());

  it("answers with 2 of 5 addresses, heavier pods more often", async () => {
    const orders = (await askMany(server.port, aQueries("sampled.lb.svc.cluster.local", 5000))).map(
      addresses,
    );
    for (const a of orders) expect(new Set(a).size).toBe(2);
    const appearances = SAMPLED.map((ip) => orders.filter((a) => a.includes(ip)).length);
    for (let i = 1; i < appearances.length; i++) expect(appearances[i]!).toBeLessThan(appearances[i - 1]!);
  });

  it("sends a response dig decodes with 2 answers", async () => {
    const r = await dig(server.port, "A", "sampled.lb.svc.cluster.local");
    expect(r.answer).toHaveLength(2);
  });
});

describe("shuffle off over UDP", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve({ shuffle: false });
  });
  afterAll(() => server.stop());

  it("answers 200 queries and dig with one and the same order", async () => {
    const orders = (await askMany(server.port, aQueries("weighted.lb.svc.cluster.local", 200))).map(
      addresses,
    );
    const r = await dig(server.port, "A", "weighted.lb.svc.cluster.local");
    orders.push(r.answer.map((line) => line.split(" ").pop()!));
    expect(new Set(orders.map((a) => a.join(" "))).size).toBe(1);
    expect(orders[0]).toHaveLength(4);
  });
});
