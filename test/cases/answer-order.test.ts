import { Packet } from "dns2";
import { beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../src/dns/shuffle.js";
import { type AnswerPolicy, QueryHandler } from "../../src/server/handler.js";
import { buildQuery, clientSubnetOption, readHeader } from "../support/raw-dns.js";
import { NO_METRICS, WEIGHT_FIXTURES, zoneHarness } from "../support/zone-harness.js";

const h = zoneHarness({ paths: [WEIGHT_FIXTURES] });
const Type = { A: 1, AAAA: 28 } as const;
const QUERIES = 10_000;
const SEED = 20_250_618;

function handler(policy: Partial<AnswerPolicy> = {}): QueryHandler {
  return new QueryHandler(h.store, NO_METRICS, {
    shuffle: true,
    maxAnswers: 0,
    random: seededRandom(SEED),
    ...policy,
  });
}

/** Asks `count` times with fresh IDs; the answer addresses of each response, in order. */
function answers(
  qh: QueryHandler,
  qname: string,
  qtype: number,
  count: number,
  from = "127.0.0.1",
  opt?: Parameters<typeof buildQuery>[0]["opt"],
): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < count; i++) {
    const reply = qh.handle(buildQuery({ id: i & 0xffff, qname, qtype, opt }), "udp", from);
    out.push(addressesOf(reply!, qtype));
  }
  return out;
}

/** The answer section's addresses of one response, in order, as dns2 decodes them. */
function addressesOf(reply: Buffer, qtype: number): string[] {
  const p = Packet.parse(reply);
  return p.answers.filter((rr) => rr.type === qtype).map((rr) => rr.address!);
}

/** Pearson's statistic of observed counts against expected probabilities. */
function chiSquare(observed: readonly number[], probabilities: readonly number[]): number {
  const n = observed.reduce((a, b) => a + b, 0);
  return observed.reduce((sum, o, i) => sum + (o - n * probabilities[i]!) ** 2 / (n * probabilities[i]!), 0);
}
/** Upper 1% points of the chi-square distribution by degrees of freedom. */
const CHI2_1PCT: Record<number, number> = { 3: 11.345, 19: 36.191 };

describe("weighted A/AAAA order", () => {
  const WEIGHTED = [
    { v4: "10.244.7.1", v6: "fd00:10:244:7::1", weight: 400 },
    { v4: "10.244.7.2", v6: "fd00:10:244:7::2", weight: 200 },
    { v4: "10.244.7.3", v6: "fd00:10:244:7::3", weight: 100 },
    { v4: "10.244.7.4", v6: "fd00:10:244:7::4", weight: 100 },
  ];
  const total = WEIGHTED.reduce((sum, p) => sum + p.weight, 0);
  const probabilities = WEIGHTED.map((p) => p.weight / total);

  it.each([
    { type: "A", qtype: Type.A, key: "v4" as const },
    { type: "AAAA", qtype: Type.AAAA, key: "v6" as const },
  ])(
    "puts each $type address first as often as its weight says (weights 400/200/100/100, chi-square at 1%)",
    ({ qtype, key }) => {
      const got = answers(handler(), "weighted.lb.svc.cluster.local.", qtype, QUERIES);
      const first = WEIGHTED.map((p) => got.filter((a) => a[0] === p[key]).length);
      expect(first.reduce((a, b) => a + b, 0)).toBe(QUERIES);
      expect(chiSquare(first, probabilities)).toBeLessThan(CHI2_1PCT[3]!);
    },
  );

  it("would notice equal weights: the same test rejects a uniform first position", () => {
    const uniform = [2500, 2500, 2500, 2500];
    expect(chiSquare(uniform, probabilities)).toBeGreaterThan(CHI2_1PCT[3]!);
  });

  it("answers every query with every address once", () => {
    for (const a of answers(handler(), "weighted.lb.svc.cluster.local.", Type.A, 500)) {
      expect([...a].sort()).toEqual(WEIGHTED.map((p) => p.v4));
    }
  });
});

describe("maxAnswers 2 of 5", () => {
  const SAMPLED = [
    { address: "10.244.8.1", weight: 500 },
    { address: "10.244.8.2", weight: 400 },
    { address: "10.244.8.3", weight: 300 },
    { address: "10.244.8.4", weight: 200 },
    { address: "10.244.8.5", weight: 100 },
  ];
  let got: string[][];
  beforeAll(() => {
    got = answers(handler({ maxAnswers: 2 }), "sampled.lb.svc.cluster.local.", Type.A, QUERIES);
  });

  it("answers with exactly two distinct addresses of the Service", () => {
    const known = new Set(SAMPLED.map((p) => p.address));
    for (const a of got) {
      expect(a).toHaveLength(2);
      expect(a[0]).not.toBe(a[1]);
      expect(known.has(a[0]!) && known.has(a[1]!)).toBe(true);
    }
  });

  it("includes heavier pods more often, in the order of their weights", () => {
    const appearances = SAMPLED.map((p) => got.filter((a) => a.includes(p.address)).length);
    for (let i = 1; i < appearances.length; i++) expect(appearances[i]!).toBeLessThan(appearances[i - 1]!);
  });

  it("draws each ordered pair as often as weighted sampling without replacement says (chi-square at 1%)", () => {
    const total = SAMPLED.reduce((sum, p) => sum + p.weight, 0);
    const p = SAMPLED.map((s) => s.weight / total);
    const cells: { pair: string; probability: number }[] = [];
    SAMPLED.forEach((x, i) => {
      SAMPLED.forEach((y, j) => {
        if (i !== j)
          cells.push({ pair: `${x.address} ${y.address}`, probability: (p[i]! * p[j]!) / (1 - p[i]!) });
      });
    });
    const counts = new Map<string, number>();
    for (const a of got) counts.set(a.join(" "), (counts.get(a.join(" ")) ?? 0) + 1);
    const observed = cells.map((c) => counts.get(c.pair) ?? 0);
    expect(observed.reduce((a, b) => a + b, 0)).toBe(QUERIES);
    const probabilities = cells.map((c) => c.probability);
    expect(chiSquare(observed, probabilities)).toBeLessThan(CHI2_1PCT[19]!);
  });
});

describe("shuffle: false", () => {
  it("answers every query with the same order", () => {
    const got = answers(handler({ shuffle: false }), "weighted.lb.svc.cluster.local.", Type.A, 200);
    expect(new Set(got.map((a) => a.join(" "))).size).toBe(1);
    expect([...got[0]!].sort()).toEqual(["10.244.7.1", "10.244.7.2", "10.244.7.3", "10.244.7.4"]);
  });

  it("with maxAnswers keeps the same two addresses every time", () => {
    const got = answers(
      handler({ shuffle: false, maxAnswers: 2 }),
      "sampled.lb.svc.cluster.local.",
      Type.A,
      200,
    );
    expect(new Set(got.map((a) => a.join(" "))).size).toBe(1);
    expect(got[0]).toHaveLength(2);
  });
});

describe("same-zone addresses under shuffling", () => {
  const ZONE_A = ["10.244.1.11", "10.244.1.12"];
  const ZONE_B = ["10.244.2.21", "10.244.2.22"];

  it.each([
    {
      says: "a querier whose source address is a zone-a pod",
      from: "127.0.0.21",
      ecs: undefined,
      first: ZONE_A,
    },
    {
      says: "a querier whose source address is a zone-b pod",
      from: "127.0.0.22",
      ecs: undefined,
      first: ZONE_B,
    },
    {
      says: "an EDNS Client Subnet naming a zone-b pod, whatever the source",
      from: "127.0.0.21",
      ecs: "127.0.0.22",
      first: ZONE_B,
    },
  ])("come first, in both orders, for $says", ({ from, ecs, first }) => {
    const opt = ecs === undefined ? undefined : { options: [clientSubnetOption(ecs)] };
    const got = answers(handler(), "zonal.geo.svc.cluster.local.", Type.A, 1000, from, opt);
    for (const a of got) expect([...a.slice(0, 2)].sort()).toEqual(first);
    expect(new Set(got.map((a) => a.join(" "))).size).toBe(4);
  });

  it("are not favoured for a querier podns cannot place: every address comes first sometimes", () => {
    const got = answers(handler(), "zonal.geo.svc.cluster.local.", Type.A, 1000, "127.0.0.1");
    expect(new Set(got.map((a) => a[0])).size).toBe(4);
  });
});

describe("reordered responses", () => {
  it.each([
    { says: "shuffled A", policy: {}, qname: "weighted.lb.svc.cluster.local.", qtype: Type.A, count: 4 },
    {
      says: "shuffled AAAA",
      policy: {},
      qname: "weighted.lb.svc.cluster.local.",
      qtype: Type.AAAA,
      count: 4,
    },
    {
      says: "A cut to maxAnswers",
      policy: { maxAnswers: 2 },
      qname: "sampled.lb.svc.cluster.local.",
      qtype: Type.A,
      count: 2,
    },
  ])(
    "are valid DNS: $says decodes with matching counts, question, TTLs and EDNS",
    ({ policy, qname, qtype, count }) => {
      const qh = handler(policy);
      for (let i = 0; i < 20; i++) {
        const query = buildQuery({ id: 0x4000 + i, qname: qname.toUpperCase(), qtype, opt: {} });
        const reply = qh.handle(query, "udp", "127.0.0.1")!;
        const header = readHeader(reply);
        expect(header).toMatchObject({
          id: 0x4000 + i,
          qr: true,
          aa: true,
          tc: false,
          rcode: 0,
          qd: 1,
          an: count,
          ns: 0,
          ar: 1,
        });
        const p = Packet.parse(reply);
        expect(p.questions).toEqual([{ name: qname.toUpperCase().slice(0, -1), type: qtype, class: 1 }]);
        expect(p.answers).toHaveLength(count);
        for (const rr of p.answers) {
          expect(rr).toMatchObject({ name: qname.toUpperCase().slice(0, -1), type: qtype, class: 1, ttl: 5 });
        }
        expect(p.additionals.map((rr) => rr.type)).toEqual([41]);
      }
    },
  );
});
