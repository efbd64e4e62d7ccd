/**
 * The wire path end to end: real UDP and TCP sockets on 127.0.0.1, answered by an in-process podns and read by
 * independent clients (Node's c-ares resolver, dns2, dig) and by hand-built raw packets.
 */
import { promises as dns } from "node:dns";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import DNS, { Packet, type Resource } from "dns2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DigResult, dig } from "../support/dig.js";
import { startPodns, type TestServer } from "../support/podns.js";
import {
  buildQuery,
  encodeName,
  frame,
  optRecord,
  readHeader,
  record,
  TcpConnection,
  tcpExchange,
  udpExchange,
} from "../support/raw-dns.js";

const DEMO = { sources: ["zones/"], kube: { kind: "none" } } as const;
const SOA =
  "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. SERIAL 7200 1800 86400 5";
const Type = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, OPT: 41 } as const;
const Rcode = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** The SOA serial changes with every publication, so expectations name it SERIAL. */
function maskSerial(lines: readonly string[]): string[] {
  return lines.map((l) => l.replace(/^(\S+ \d+ IN SOA \S+ \S+) \d+/, "$1 SERIAL"));
}

function sorted<T>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

function resolverFor(port: number): dns.Resolver {
  const resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  return resolver;
}

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  return Promise.race([
    work,
    sleep(ms, undefined, { ref: false }).then(() => {
      throw new Error(`no answer within ${ms} ms`);
    }),
  ]);
}

describe("Node's dns.promises.Resolver against the demo data", () => {
  let server: TestServer;
  let resolver: dns.Resolver;
  beforeAll(async () => {
    server = await startPodns(DEMO);
    resolver = resolverFor(server.port);
  });
  afterAll(() => server.stop());

  const srv = (target: string, port: number, weight: number) => ({ name: target, port, priority: 0, weight });
  const answers = [
    { rrtype: "A", name: "web.demo.svc.cluster.local", expected: ["10.244.1.10", "10.244.1.11"] },
    { rrtype: "A", name: "registry.infra.cluster.local", expected: ["192.0.2.40"] },
    {
      rrtype: "AAAA",
      name: "api.demo.svc.cluster.local",
      expected: ["fd00:10:244:1::30", "fd00:10:244:2::31"],
    },
    {
      rrtype: "SRV",
      name: "_http._tcp.web.demo.svc.cluster.local",
      expected: [
        srv("10-244-1-10.web.demo.svc.cluster.local", 8080, 65535),
        srv("10-244-1-11.web.demo.svc.cluster.local", 8080, 32768),
      ],
    },
    {
      rrtype: "SRV",
      name: "_metrics._tcp.web.demo.svc.cluster.local",
      expected: [
        srv("10-244-1-10.web.demo.svc.cluster.local", 9090, 65535),
        srv("10-244-1-11.web.demo.svc.cluster.local", 9090, 32768),
      ],
    },
    {
      rrtype: "SRV",
      name: "_postgres._tcp.db.demo.svc.cluster.local",
      expected: [
        srv("db-0.db.demo.svc.cluster.local", 5432, 65535),
        srv("db-1.db.demo.svc.cluster.local", 5432, 65535),
      ],
    },
    { rrtype: "PTR", name: "10.1.244.10.in-addr.arpa", expected: ["10-244-1-10.web.demo.svc.cluster.local"] },
    { rrtype: "PTR", name: "20.0.96.10.in-addr.arpa", expected: ["web.demo.svc.cluster.local"] },
    {
      rrtype: "PTR",
      name: "0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa",
      expected: ["10-244-1-30.api.demo.svc.cluster.local"],
    },
    { rrtype: "CNAME", name: "search.demo.svc.cluster.local", expected: ["search.example.com"] },
    { rrtype: "TXT", name: "dns-version.cluster.local", expected: [["1.1.0"]] },
  ];

  it.each(answers)("resolves $rrtype $name to its records", async ({ rrtype, name, expected }) => {
    const got = (await resolver.resolve(name, rrtype)) as unknown[];
    expect(sorted(got)).toEqual(sorted<unknown>(expected));
  });

  const failures = [
    { rrtype: "A", name: "nope.demo.svc.cluster.local", code: "ENOTFOUND", outcome: "NXDOMAIN" },
    { rrtype: "TXT", name: "web.demo.svc.cluster.local", code: "ENODATA", outcome: "NODATA" },
    { rrtype: "A", name: "demo.svc.cluster.local", code: "ENODATA", outcome: "an empty non-terminal" },
    { rrtype: "A", name: "example.com", code: "EREFUSED", outcome: "REFUSED" },
  ];

  it.each(failures)("reports $outcome for $rrtype $name as $code", async ({ rrtype, name, code }) => {
    await expect(resolver.resolve(name, rrtype)).rejects.toMatchObject({ code });
  });
});

const TYPE_NAMES = new Map<number, string>(Object.entries(Type).map(([k, v]) => [v, k]));
const RCODE_NAMES = new Map<number, string>(Object.entries(Rcode).map(([k, v]) => [v, k]));

function absolute(name: string): string {
  return name === "" ? "." : `${name}.`;
}

/** A record decoded by dns2 in dig's presentation form. */
function presentation(rr: Resource): string {
  const head = `${absolute(rr.name)} ${rr.ttl} IN ${TYPE_NAMES.get(rr.type) ?? `TYPE${rr.type}`}`;
  switch (rr.type) {
    case Type.A:
    case Type.AAAA:
      return `${head} ${rr.address}`;
    case Type.NS:
      return `${head} ${absolute(rr.ns!)}`;
    case Type.CNAME:
    case Type.PTR:
      return `${head} ${absolute(rr.domain!)}`;
    case Type.SRV:
      return `${head} ${rr.priority} ${rr.weight} ${rr.port} ${absolute(rr.target!)}`;
    case Type.TXT:
      return `${head} ${[rr.data ?? []]
        .flat()
        .map((s) => JSON.stringify(s))
        .join(" ")}`;
    case Type.SOA:
      return `${head} ${absolute(rr.primary!)} ${absolute(rr.admin!)} ${rr.serial} ${rr.refresh} ${rr.retry} ${rr.expiration} ${rr.minimum}`;
    default:
      throw new Error(`no presentation for type ${rr.type}`);
  }
}

/** What dig shows of a response, rebuilt from dns2's decoding of it. */
function fromDns2(p: Packet) {
  return {
    rcode: RCODE_NAMES.get(p.header.rcode) ?? `RCODE${p.header.rcode}`,
    answer: sorted(p.answers.map(presentation)),
    authority: sorted(p.authorities.map(presentation)),
    additional: sorted(p.additionals.filter((r) => r.type !== Type.OPT).map(presentation)),
  };
}

function fromDig(d: DigResult) {
  return {
    rcode: d.rcode,
    answer: sorted(d.answer),
    authority: sorted(d.authority),
    additional: sorted(d.additional),
  };
}

describe("dns2 as an independent client and decoder", () => {
  // dns2 is used as an independent client/decoder in tests; its codec is kept off podns's per-query path for speed.
  let server: TestServer;
  let client: DNS;
  beforeAll(async () => {
    server = await startPodns(DEMO);
    client = new DNS({ nameServers: ["127.0.0.1"], port: server.port });
  });
  afterAll(() => server.stop());

  /** `records`: answer and authority records expected, so two decoders agreeing on nothing cannot pass. */
  const queries = [
    { qtype: "SRV", qname: "_http._tcp.web.demo.svc.cluster.local", records: 2 },
    { qtype: "A", qname: "WeB.demo.svc.cluster.local", records: 2 },
    { qtype: "AAAA", qname: "api.demo.svc.cluster.local", records: 2 },
    { qtype: "PTR", qname: "10.1.244.10.in-addr.arpa", records: 1 },
    { qtype: "CNAME", qname: "search.demo.svc.cluster.local", records: 1 },
    { qtype: "TXT", qname: "dns-version.cluster.local", records: 1 },
    { qtype: "NS", qname: "cluster.local", records: 1 },
    { qtype: "A", qname: "nope.demo.svc.cluster.local", records: 1 },
    { qtype: "A", qname: "example.com", records: 0 },
  ];

  it.each(queries)("dns2's client decodes $qtype $qname as dig does", async ({ qtype, qname, records }) => {
    const viaDns2 = await within(3000, client.resolve(qname, qtype));
    const viaDig = await dig(server.port, qtype, qname, "+noedns");
    expect(fromDns2(viaDns2)).toEqual(fromDig(viaDig));
    expect(viaDns2.answers.length + viaDns2.authorities.length).toBe(records);
  });

  it("dns2's Packet.parse decodes an EDNS response with the records dig prints and an OPT of 1232", async () => {
    const query = buildQuery({ qname: "_http._tcp.web.demo.svc.cluster.local", qtype: Type.SRV, opt: {} });
    const reply = await udpExchange(server.port, query);
    expect(reply).not.toBeNull();
    const parsed = Packet.parse(reply!);
    const viaDig = await dig(server.port, "SRV", "_http._tcp.web.demo.svc.cluster.local");
    expect(fromDns2(parsed)).toEqual(fromDig(viaDig));
    expect(parsed.answers).toHaveLength(2);
    expect(parsed.additionals.find((r) => r.type === Type.OPT)).toMatchObject({ class: 1232 });
  });
});

describe("dig against the demo data", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startPodns(DEMO);
  });
  afterAll(() => server.stop());

  const cases = [
    {
      qname: "_http._tcp.web.demo.svc.cluster.local",
      qtype: "SRV",
      rcode: "NOERROR",
      flags: ["qr", "aa", "rd"],
      answer: [
        "_http._tcp.web.demo.svc.cluster.local. 5 IN SRV 0 65535 8080 10-244-1-10.web.demo.svc.cluster.local.",
        "_http._tcp.web.demo.svc.cluster.local. 5 IN SRV 0 32768 8080 10-244-1-11.web.demo.svc.cluster.local.",
      ],
      authority: [],
      additional: [
        "10-244-1-10.web.demo.svc.cluster.local. 5 IN A 10.244.1.10",
        "10-244-1-11.web.demo.svc.cluster.local. 5 IN A 10.244.1.11",
      ],
    },
    {
      qname: "web.demo.svc.cluster.local",
      qtype: "A",
      rcode: "NOERROR",
      flags: ["qr", "aa", "rd"],
      answer: [
        "web.demo.svc.cluster.local. 5 IN A 10.244.1.10",
        "web.demo.svc.cluster.local. 5 IN A 10.244.1.11",
      ],
      authority: [],
      additional: [],
    },
    // Asked after the lowercase row, so this answer comes from the response cache and must still echo the case.
    {
      qname: "WeB.DeMo.svc.CLUSTER.local",
      qtype: "A",
      rcode: "NOERROR",
      flags: ["qr", "aa", "rd"],
      answer: [
        "WeB.DeMo.svc.CLUSTER.local. 5 IN A 10.244.1.10",
        "WeB.DeMo.svc.CLUSTER.local. 5 IN A 10.244.1.11",
      ],
      authority: [],
      additional: [],
    },
    {
      qname: "cluster.local",
      qtype: "NS",
      rcode: "NOERROR",
      flags: ["qr", "aa", "rd"],
      answer: ["cluster.local. 5 IN NS ns.dns.cluster.local."],
      authority: [],
      additional: ["ns.dns.cluster.local. 5 IN A 127.0.0.1"],
    },
    {
      qname: "nope.demo.svc.cluster.local",
      qtype: "A",
      rcode: "NXDOMAIN",
      flags: ["qr", "aa", "rd"],
      answer: [],
      authority: [SOA],
      additional: [],
    },
    {
      qname: "web.demo.svc.cluster.local",
      qtype: "TXT",
      rcode: "NOERROR",
      flags: ["qr", "aa", "rd"],
      answer: [],
      authority: [SOA],
      additional: [],
    },
    {
      qname: "svc.cluster.local",
      qtype: "A",
      rcode: "NOERROR",
      flags: ["qr", "aa", "rd"],
      answer: [],
      authority: [SOA],
      additional: [],
    },
    {
      qname: "demo.svc.cluster.local",
      qtype: "SRV",
      rcode: "NOERROR",
      flags: ["qr", "aa", "rd"],
      answer: [],
      authority: [SOA],
      additional: [],
    },
    {
      qname: "example.com",
      qtype: "A",
      rcode: "REFUSED",
      flags: ["qr", "rd"],
      answer: [],
      authority: [],
      additional: [],
    },
  ];

  it.each(cases)(
    "answers $qtype $qname with $rcode, flags and sections as expected",
    async ({ qname, qtype, ...expected }) => {
      const r = await dig(server.port, qtype, qname);
      expect(r.question).toBe(`${qname}. IN ${qtype}`);
      expect({
        rcode: r.rcode,
        flags: r.flags,
        answer: sorted(r.answer),
        authority: maskSerial(r.authority),
        additional: sorted(r.additional),
      }).toEqual({ ...expected, answer: sorted(expected.answer), additional: sorted(expected.additional) });
    },
  );

  it("never sets RA, even when recursion is desired", async () => {
    const r = await dig(server.port, "A", "web.demo.svc.cluster.local", "+rec");
    expect(r.flags).toContain("rd");
    expect(r.flags).not.toContain("ra");
  });

  const ednsCases = [
    { options: [], edns: { version: 0, udp: 1232, flags: [] } },
    { options: ["+noedns"], edns: null },
    { options: ["+bufsize=4096"], edns: { version: 0, udp: 1232, flags: [] } },
    { options: ["+bufsize=512"], edns: { version: 0, udp: 1232, flags: [] } },
    { options: ["+dnssec"], edns: { version: 0, udp: 1232, flags: ["do"] } },
  ];

  it.each(ednsCases)("answers dig $options with the OPT record $edns", async ({ options, edns }) => {
    const r = await dig(server.port, "SRV", "_http._tcp.web.demo.svc.cluster.local", ...options);
    expect(r.edns).toEqual(edns);
    expect(r.answer).toHaveLength(2);
    if (edns === null) expect(r.msgSize).toBeLessThanOrEqual(512);
  });
});

/** Addresses of `count` endpoints in 10.20.<third>.0/24 and their SRV target labels. */
function endpoints(third: number, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    ip: `10.20.${third}.${i + 1}`,
    label: `10-20-${third}-${i + 1}`,
  }));
}

/** A Service with one named port and its EndpointSlices of at most 100 endpoints, as the controller writes them. */
function serviceManifests(name: string, third: number, count: number): object[] {
  const all = endpoints(third, count);
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "load" },
    spec: {
      clusterIP: `10.96.1.${third}`,
      selector: { app: name },
      ports: [{ name: "http", port: 80, protocol: "TCP" }],
    },
  };
  const slices = [];
  for (let i = 0; i < all.length; i += 100) {
    slices.push({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `${name}-${i / 100}`,
        namespace: "load",
        labels: { "kubernetes.io/service-name": name },
      },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: all.slice(i, i + 100).map((e) => ({ addresses: [e.ip], conditions: { ready: true } })),
    });
  }
  return [service, ...slices];
}

function expectedRecords(service: string, third: number, count: number) {
  const base = `${service}.load.svc.cluster.local.`;
  const eps = endpoints(third, count);
  return {
    srv: sorted(eps.map((e) => `_http._tcp.${base} 5 IN SRV 0 65535 8080 ${e.label}.${base}`)),
    hostA: sorted(eps.map((e) => `${e.label}.${base} 5 IN A ${e.ip}`)),
    serviceA: sorted(eps.map((e) => `${base} 5 IN A ${e.ip}`)),
  };
}

/** A zone whose SRV target has 40 addresses: 640 bytes of A records, more than a 512-byte response has room for. */
const POOL_A = Array.from({ length: 40 }, (_, i) => `hosts.pool.cluster.local. 5 IN A 10.30.0.${i + 1}`);
const POOL_ZONE = [
  "$ORIGIN cluster.local.",
  "$TTL 5",
  "@ IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5",
  "  IN NS ns.dns",
  "ns.dns IN A 127.0.0.1",
  "_http._tcp.pool IN SRV 0 0 80 hosts.pool",
  ...POOL_A.map((line) => line.replace(".cluster.local. 5", "")),
  "",
].join("\n");

describe("truncation and UDP size limits", () => {
  // many: far beyond any UDP limit; mid: its SRV RRset fits 1232 bytes but not with its A records;
  // few: its SRV RRset fits 512 bytes but not with its A records.
  const MANY = { name: "many", third: 1, count: 150 };
  const MID = { name: "mid", third: 2, count: 18 };
  const FEW = { name: "few", third: 3, count: 7 };
  let dir: string;
  let server: TestServer;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "podns-wire-"));
    const items = [MANY, MID, FEW].flatMap((s) => serviceManifests(s.name, s.third, s.count));
    writeFileSync(path.join(dir, "load.json"), JSON.stringify({ apiVersion: "v1", kind: "List", items }));
    writeFileSync(path.join(dir, "cluster.local.zone"), POOL_ZONE);
    server = await startPodns({ sources: [dir], kube: { kind: "none" } });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const many = expectedRecords(MANY.name, MANY.third, MANY.count);
  const tooBig = [
    { qtype: "SRV", qname: "_http._tcp.many.load.svc.cluster.local", edns: false, limit: 512 },
    { qtype: "A", qname: "many.load.svc.cluster.local", edns: false, limit: 512 },
    { qtype: "SRV", qname: "_http._tcp.many.load.svc.cluster.local", edns: true, limit: 1232 },
    { qtype: "A", qname: "many.load.svc.cluster.local", edns: true, limit: 1232 },
  ];

  it.each(tooBig)(
    "sets TC and leaves out the whole $qtype RRset of $qname over UDP within $limit bytes (EDNS $edns)",
    async ({ qtype, qname, edns, limit }) => {
      const query = buildQuery({ qname, qtype: Type[qtype as "A" | "SRV"], opt: edns ? {} : undefined });
      const reply = await udpExchange(server.port, query);
      expect(reply).not.toBeNull();
      expect(readHeader(reply!)).toMatchObject({
        tc: true,
        aa: true,
        rcode: 0,
        an: 0,
        ns: 0,
        ar: edns ? 1 : 0,
      });
      expect(reply!.length).toBeLessThanOrEqual(limit);
    },
  );

  it("lets dig retry a truncated SRV answer over TCP and get all 150 records with their addresses", async () => {
    const r = await dig(server.port, "SRV", "_http._tcp.many.load.svc.cluster.local", "+noedns");
    expect(r.tcp).toBe(true);
    expect(r.flags).not.toContain("tc");
    expect(sorted(r.answer)).toEqual(many.srv);
    expect(sorted(r.additional)).toEqual(many.hostA);
  });

  it("lets dig retry a truncated A answer over TCP and get all 150 addresses", async () => {
    const r = await dig(server.port, "A", "many.load.svc.cluster.local");
    expect(r.tcp).toBe(true);
    expect(sorted(r.answer)).toEqual(many.serviceA);
  });

  it("shows TC to dig +notcp +ignore, with no partial RRset", async () => {
    const r = await dig(server.port, "SRV", "_http._tcp.many.load.svc.cluster.local", "+notcp", "+ignore");
    expect(r.tcp).toBe(false);
    expect(r.flags).toContain("tc");
    expect(r.answer).toEqual([]);
    expect(r.additional).toEqual([]);
  });

  it("lets Node's resolver fall back to TCP and get all 150 SRV records", async () => {
    const got = await resolverFor(server.port).resolveSrv("_http._tcp.many.load.svc.cluster.local");
    expect(got).toHaveLength(150);
    expect(sorted(got)).toEqual(
      sorted(
        endpoints(MANY.third, MANY.count).map((e) => ({
          name: `${e.label}.many.load.svc.cluster.local`,
          port: 8080,
          priority: 0,
          weight: 65535,
        })),
      ),
    );
  });

  it("lets dns2's client fall back to TCP and get all 150 SRV records", async () => {
    const client = new DNS({ nameServers: ["127.0.0.1"], port: server.port });
    const got = await within(3000, client.resolve("_http._tcp.many.load.svc.cluster.local", "SRV"));
    expect(sorted(got.answers.map(presentation))).toEqual(many.srv);
  });

  it("leaves out an additional RRset whole, without TC, when only part of it would fit", async () => {
    const whole = await dig(server.port, "SRV", "_http._tcp.pool.cluster.local", "+tcp");
    expect(sorted(whole.additional)).toEqual(sorted(POOL_A));

    const r = await dig(server.port, "SRV", "_http._tcp.pool.cluster.local", "+noedns", "+notcp", "+ignore");
    expect(r.flags).not.toContain("tc");
    expect(r.answer).toEqual(["_http._tcp.pool.cluster.local. 5 IN SRV 0 0 80 hosts.pool.cluster.local."]);
    expect(r.additional).toEqual([]);
  });

  const limits = [
    { options: ["+noedns"], qname: "_http._tcp.few.load.svc.cluster.local", limit: 512, service: FEW },
    { options: ["+bufsize=600"], qname: "_http._tcp.few.load.svc.cluster.local", limit: 600, service: FEW },
    { options: ["+bufsize=4096"], qname: "_http._tcp.mid.load.svc.cluster.local", limit: 1232, service: MID },
  ];

  it.each(limits)(
    "keeps the SRV answer to dig $options within $limit bytes by leaving out additional records, without TC",
    async ({ options, qname, limit, service }) => {
      const expected = expectedRecords(service.name, service.third, service.count);
      const whole = await dig(server.port, "SRV", qname, "+tcp", ...options);
      expect(whole.msgSize).toBeGreaterThan(limit);
      expect(sorted(whole.additional)).toEqual(expected.hostA);

      const r = await dig(server.port, "SRV", qname, "+notcp", "+ignore", ...options);
      expect(r.tcp).toBe(false);
      expect(r.msgSize).toBeLessThanOrEqual(limit);
      expect(r.flags).not.toContain("tc");
      expect(sorted(r.answer)).toEqual(expected.srv);
      expect(r.additional.length).toBeLessThan(service.count);
      for (const rr of r.additional) expect(expected.hostA).toContain(rr);
      expect(r.edns === null ? null : r.edns.udp).toBe(options[0] === "+noedns" ? null : 1232);
    },
  );
});

describe("TCP", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startPodns(DEMO);
  });
  afterAll(() => server.stop());

  const pipelined = [
    { id: 101, qname: "web.demo.svc.cluster.local", qtype: Type.A, rcode: Rcode.NOERROR, an: 2 },
    { id: 102, qname: "_http._tcp.web.demo.svc.cluster.local", qtype: Type.SRV, rcode: Rcode.NOERROR, an: 2 },
    { id: 103, qname: "nope.demo.svc.cluster.local", qtype: Type.A, rcode: Rcode.NXDOMAIN, an: 0 },
    { id: 104, qname: "api.demo.svc.cluster.local", qtype: Type.AAAA, rcode: Rcode.NOERROR, an: 2 },
    { id: 105, qname: "example.com", qtype: Type.A, rcode: Rcode.REFUSED, an: 0 },
  ];

  it("answers queries pipelined on one connection, each under its own ID", async () => {
    const replies = await tcpExchange(
      server.port,
      pipelined.map((q) => buildQuery(q)),
    );
    const byId = new Map(replies.map((r) => [readHeader(r).id, Packet.parse(r)]));
    expect([...byId.keys()].sort()).toEqual(pipelined.map((q) => q.id));
    for (const q of pipelined) {
      const p = byId.get(q.id)!;
      expect(p.questions[0]).toMatchObject({ name: q.qname, type: q.qtype });
      expect(p.header).toMatchObject({ qr: 1, rcode: q.rcode, ancount: q.an });
    }
  });

  const one = frame(buildQuery({ id: 201, qname: "web.demo.svc.cluster.local", qtype: Type.A }));
  const two = Buffer.concat([
    one,
    frame(buildQuery({ id: 202, qname: "db-0.db.demo.svc.cluster.local", qtype: Type.A })),
  ]);
  const splits = [
    { split: "inside the length prefix", stream: one, cuts: [1], ids: [201] },
    { split: "between the length prefix and the message", stream: one, cuts: [2], ids: [201] },
    { split: "inside the question", stream: one, cuts: [2, 14, 20], ids: [201] },
    { split: "at every byte", stream: one, cuts: [...one.keys()].slice(1), ids: [201] },
    { split: "inside the second of two messages", stream: two, cuts: [one.length + 7], ids: [201, 202] },
  ];

  it.each(splits)("answers a message split $split once it is complete", async ({ stream, cuts, ids }) => {
    const conn = await TcpConnection.connect(server.port);
    try {
      const bounds = [0, ...cuts, stream.length];
      const early: Buffer[] = [];
      for (let i = 0; i + 1 < bounds.length; i++) {
        if (i > 0) early.push(...(await conn.read(ids.length, 5)));
        await conn.write(stream.subarray(bounds[i], bounds[i + 1]));
      }
      const replies = [...early, ...(await conn.read(ids.length - early.length, 1000))];
      expect(replies.map((r) => readHeader(r).id)).toEqual(ids);
      expect(early.length).toBeLessThan(ids.length);
      expect(readHeader(replies[0]!)).toMatchObject({ rcode: 0, an: 2 });
    } finally {
      conn.close();
    }
  });
});

describe("TCP with --tcp-idle-timeout 1", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startPodns({ ...DEMO, tcpIdleTimeout: 1 });
  });
  afterAll(() => server.stop());

  const query = frame(buildQuery({ qname: "web.demo.svc.cluster.local", qtype: Type.A }));

  it("closes a connection that stays idle beyond the timeout", async () => {
    const conn = await TcpConnection.connect(server.port);
    const start = performance.now();
    const closed = await Promise.race([
      conn.closed.then(() => true),
      sleep(4000, undefined, { ref: false }).then(() => false),
    ]);
    const elapsed = performance.now() - start;
    conn.close();
    expect(closed).toBe(true);
    expect(elapsed).toBeGreaterThan(800);
    expect(elapsed).toBeLessThan(3000);
  });

  it("keeps a connection open while queries keep arriving within the timeout", async () => {
    const conn = await TcpConnection.connect(server.port);
    let closed = false;
    void conn.closed.then(() => {
      closed = true;
    });
    try {
      for (let i = 0; i < 3; i++) {
        await conn.write(query);
        expect(await conn.read(1, 1000)).toHaveLength(1);
        await sleep(600);
      }
      expect(closed).toBe(false);
    } finally {
      conn.close();
    }
  });
});

let nextId = 0x4000;
/** A query with an ID of its own, so responses can be matched to cases. */
function q(spec: Parameters<typeof buildQuery>[0]): Buffer {
  return buildQuery({ ...spec, id: nextId++ });
}

const WEB = "web.demo.svc.cluster.local";
const LABEL_63 = `${"a".repeat(63)}.cluster.local`;
const LABEL_64 = `${"a".repeat(64)}.cluster.local`;
/** Four 63-octet labels take 256 octets; the rest of the name adds 15 (`cluster.local` and the root). */
const NAME_255 = `${"b".repeat(63)}.${"b".repeat(63)}.${"b".repeat(63)}.${"b".repeat(47)}.cluster.local`;
const NAME_256 = `${"b".repeat(63)}.${"b".repeat(63)}.${"b".repeat(63)}.${"b".repeat(48)}.cluster.local`;

type Reply =
  | "none"
  | { readonly rcode: number; readonly an?: number; readonly ednsRcode?: number; readonly opcode?: number };

const cases: { case: string; packet: Buffer; reply: Reply }[] = [
  { case: "an empty datagram", packet: Buffer.alloc(0), reply: "none" },
  { case: "an 11-byte packet", packet: q({ qname: WEB }).subarray(0, 11), reply: "none" },
  { case: "a response (QR=1)", packet: q({ qname: WEB, flags: 0x8000 }), reply: "none" },
  { case: "QDCOUNT 0", packet: q({ qname: WEB, counts: { qd: 0 } }).subarray(0, 12), reply: { rcode: 1 } },
  {
    case: "QDCOUNT 2",
    packet: Buffer.concat([q({ qname: WEB, counts: { qd: 2 } }), encodeName(WEB), Buffer.from([0, 1, 0, 1])]),
    reply: { rcode: 1 },
  },
  { case: "a 64-octet label", packet: q({ qname: LABEL_64 }), reply: { rcode: 1 } },
  { case: "a 63-octet label", packet: q({ qname: LABEL_63 }), reply: { rcode: Rcode.NXDOMAIN } },
  { case: "a 256-octet name", packet: q({ qname: NAME_256 }), reply: { rcode: 1 } },
  { case: "a 255-octet name", packet: q({ qname: NAME_255 }), reply: { rcode: Rcode.NXDOMAIN } },
  {
    case: "a compression pointer in the question",
    packet: q({ qname: Buffer.concat([Buffer.from("\x03web", "latin1"), Buffer.from([0xc0, 0x0c])]) }),
    reply: { rcode: 1 },
  },
  { case: "a question cut short", packet: q({ qname: WEB }).subarray(0, 12 + 28 + 2), reply: { rcode: 1 } },
  {
    case: "a name without its root label",
    packet: q({ qname: WEB }).subarray(0, 12 + 27),
    reply: { rcode: 1 },
  },
  {
    case: "ANCOUNT 1",
    packet: q({ qname: WEB, answers: [record(WEB, Type.A, 5, Buffer.from([10, 0, 0, 1]))] }),
    reply: { rcode: 1 },
  },
  {
    case: "NSCOUNT 1",
    packet: q({
      qname: WEB,
      answers: [record(WEB, Type.A, 5, Buffer.from([10, 0, 0, 1]))],
      counts: { an: 0, ns: 1 },
    }),
    reply: { rcode: 1 },
  },
  {
    case: "two OPT records",
    packet: q({ qname: WEB, additionals: [optRecord()], opt: {} }),
    reply: { rcode: 1 },
  },
  {
    case: "an OPT record not owned by the root",
    packet: q({ qname: WEB, opt: { owner: encodeName("cluster.local") } }),
    reply: { rcode: 1 },
  },
  {
    case: "an EDNS option running past the OPT record",
    packet: (() => {
      const p = q({ qname: WEB, opt: { options: [{ code: 65001, data: Buffer.from("podns") }] } });
      p.writeUInt16BE(9, p.length - 7);
      return p;
    })(),
    reply: { rcode: 1 },
  },
  {
    case: "bytes after the last record",
    packet: Buffer.concat([q({ qname: WEB }), Buffer.from([0])]),
    reply: { rcode: 1 },
  },
  {
    case: "EDNS version 1",
    packet: q({ qname: WEB, opt: { version: 1 } }),
    reply: { rcode: 0, ednsRcode: 1 },
  },
  {
    case: "opcode NOTIFY",
    packet: q({ qname: WEB, flags: 4 << 11 }),
    reply: { rcode: Rcode.NOTIMP, opcode: 4 },
  },
  {
    case: "opcode UPDATE",
    packet: q({ qname: WEB, flags: 5 << 11 }),
    reply: { rcode: Rcode.NOTIMP, opcode: 5 },
  },
  {
    case: "opcode STATUS",
    packet: q({ qname: WEB, flags: 2 << 11 }),
    reply: { rcode: Rcode.NOTIMP, opcode: 2 },
  },
  {
    case: "an unknown EDNS option",
    packet: q({ qname: WEB, opt: { options: [{ code: 65001, data: Buffer.from("podns") }] } }),
    reply: { rcode: 0, an: 2 },
  },
];

/** The outcome in words, for the test names. */
function outcome(reply: Reply): string {
  if (reply === "none") return "no answer";
  if (reply.ednsRcode === 1) return "BADVERS";
  return Object.entries(Rcode).find(([, v]) => v === reply.rcode)![0];
}
const malformed = cases.map((c) => ({ ...c, outcome: outcome(c.reply) }));

const normal = q({ qname: WEB, qtype: Type.A });

function checkReply(packet: Buffer, reply: Buffer | undefined, expected: Reply): void {
  if (expected === "none") {
    expect(reply).toBeUndefined();
    return;
  }
  expect(reply).toBeDefined();
  const h = readHeader(reply!);
  expect(h).toMatchObject({
    id: packet.readUInt16BE(0),
    qr: true,
    ra: false,
    rcode: expected.rcode,
    opcode: expected.opcode ?? 0,
  });
  if (expected.an !== undefined) expect(h.an).toBe(expected.an);
  if (expected.ednsRcode !== undefined) {
    const opt = Packet.parse(reply!).additionals.find((r) => r.type === Type.OPT);
    expect(opt).toMatchObject({ extendedRcode: expected.ednsRcode, version: 0 });
  }
}

function expectNormalAnswer(reply: Buffer | undefined): void {
  expect(reply).toBeDefined();
  const p = Packet.parse(reply!);
  expect(p.header).toMatchObject({ id: normal.readUInt16BE(0), rcode: 0, aa: 1 });
  expect(p.answers.map((a) => a.address).sort()).toEqual(["10.244.1.10", "10.244.1.11"]);
}

describe("malformed queries", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startPodns(DEMO);
  });
  afterAll(() => server.stop());

  it.each(malformed)("$case over UDP gets $outcome", async ({ packet, reply }) => {
    const got = await udpExchange(server.port, packet, reply === "none" ? 300 : 1000);
    checkReply(packet, got ?? undefined, reply);
  });

  it.each(malformed)("$case over TCP gets $outcome", async ({ packet, reply }) => {
    const [got] = await tcpExchange(server.port, [packet], reply === "none" ? 300 : 1000);
    checkReply(packet, got, reply);
  });

  it("still answers a normal UDP query after all of them", async () => {
    expectNormalAnswer((await udpExchange(server.port, normal)) ?? undefined);
  });

  it("answers every case pipelined on one TCP connection, then a normal query", async () => {
    const answered = malformed.filter((m) => m.reply !== "none");
    const replies = await tcpExchange(server.port, [...malformed.map((m) => m.packet), normal], 1000);
    expect(replies).toHaveLength(answered.length + 1);
    answered.forEach((m, i) => {
      checkReply(m.packet, replies[i], m.reply);
    });
    expectNormalAnswer(replies[answered.length]);
  });
});
