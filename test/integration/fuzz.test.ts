/**
 * The whole server under hostile input (fast-check): batches of random bytes, valid queries with bytes changed,
 * and malformed queries of every class, over UDP and pipelined over TCP. Each message gets exactly the answer the
 * decoder's classification calls for (none, an error rcode, or a lookup) with its own ID and question, within the
 * size limit; after each batch a normal query gets its right answer; the handler never catches an exception. Then
 * a short soak (bench/soak.ts) of 20,000 packets against `podns serve` in a child process.
 */
import dgram from "node:dgram";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSoak } from "../../bench/soak.js";
import { Rcode } from "../../src/dns/constants.js";
import { decodeQuery } from "../../src/dns/query.js";
import { startPodns, type TestServer } from "../support/podns.js";
import { buildQuery, encodeName, frame, optRecord, readHeader, TcpConnection } from "../support/raw-dns.js";

const DEMO = { sources: ["zones/"], kube: { kind: "none" } } as const;
const WEB = "web.demo.svc.cluster.local";
const WEB_ADDRESSES = ["10.244.1.10", "10.244.1.11"];
const NAMES = [
  WEB,
  `_http._tcp.${WEB}`,
  "db-0.db.demo.svc.cluster.local",
  "search.demo.svc.cluster.local",
  "nope.demo.svc.cluster.local",
  "cluster.local",
  "10.1.244.10.in-addr.arpa",
  "version.bind",
  "example.com",
];
/** Batches per property and packets per batch: 3,000 messages over UDP and 1,500 over TCP. */
const UDP_RUNS = 60;
const TCP_RUNS = 30;
const BATCH = 50;

// ---- generators ------------------------------------------------------------------------------------------------

const u16 = fc.integer({ min: 0, max: 0xffff });
const validQuery = fc
  .record({
    name: fc.oneof(
      fc.constantFrom(...NAMES),
      fc.stringMatching(/^[a-z0-9-]{1,20}\.demo\.svc\.cluster\.local$/),
    ),
    upper: fc.boolean(),
    qtype: fc.oneof(fc.constantFrom(1, 28, 33, 12, 16, 5, 6, 2, 255, 252, 251, 41, 0), u16),
    qclass: fc.oneof(
      { weight: 5, arbitrary: fc.constant(1) },
      { weight: 1, arbitrary: fc.oneof(fc.constantFrom(3, 254, 255, 0), u16) },
    ),
    flags: u16.map((f) => f & 0x07ff),
    opt: fc.option(
      fc.record({
        udpSize: u16,
        version: fc.oneof(
          { weight: 5, arbitrary: fc.constant(0) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }) },
        ),
        dnssecOk: fc.boolean(),
        options: fc.array(
          fc.record({ code: fc.constantFrom(8, 10, 12, 65001), data: fc.uint8Array({ maxLength: 20 }) }),
          {
            maxLength: 2,
          },
        ),
      }),
      { nil: undefined },
    ),
  })
  .map((q) =>
    buildQuery({
      qname: q.upper ? q.name.toUpperCase() : q.name,
      qtype: q.qtype,
      qclass: q.qclass,
      flags: q.flags,
      opt: q.opt,
    }),
  );

const edit = fc.record({
  kind: fc.constantFrom("set", "insert", "delete", "cut"),
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
});
const mutatedQuery = fc
  .tuple(validQuery, fc.array(edit, { minLength: 1, maxLength: 3 }))
  .map(([q, edits]) => {
    let b = Buffer.from(q);
    for (const e of edits) {
      const at = e.at % (b.length + 1);
      if (e.kind === "set" && at < b.length) b[at] = e.byte;
      else if (e.kind === "insert")
        b = Buffer.concat([b.subarray(0, at), Buffer.from([e.byte]), b.subarray(at)]);
      else if (e.kind === "delete") b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
      else if (e.kind === "cut") b = b.subarray(0, at);
    }
    return b;
  });

const web = encodeName(WEB);
/** One of the malformed classes: each gets FORMERR or no answer. */
const malformedQuery = fc.oneof(
  u16.map((to) =>
    buildQuery({ qname: Buffer.from([3, 0x77, 0x65, 0x62, 0xc0 | ((to >> 8) & 0x3f), to & 0xff]) }),
  ),
  fc
    .integer({ min: 64, max: 191 })
    .map((len) =>
      buildQuery({ qname: Buffer.concat([Buffer.from([len]), Buffer.alloc(len, 0x61), Buffer.of(0)]) }),
    ),
  fc.constant(
    buildQuery({
      qname: `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}.cluster.local`,
    }),
  ),
  fc.constantFrom(0, 2, 3, 65535).map((qd) => buildQuery({ qname: web, counts: { qd } })),
  fc
    .constantFrom({ an: 1 }, { ns: 1 })
    .map((counts) =>
      Buffer.concat([
        buildQuery({ qname: web, counts }),
        Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 0, 0, 1]),
      ]),
    ),
  fc.constant(buildQuery({ qname: web, additionals: [optRecord()], opt: {} })),
  fc.constant(buildQuery({ qname: web, opt: { owner: Buffer.from([0xc0, 12]) } })),
  u16.map((to) =>
    buildQuery({
      qname: web,
      additionals: [Buffer.concat([Buffer.from([0xc0 | ((to >> 8) & 0x3f), to & 0xff]), Buffer.alloc(10)])],
    }),
  ),
  fc
    .uint8Array({ minLength: 1, maxLength: 8 })
    .map((tail) => Buffer.concat([buildQuery({ qname: web }), tail])),
);

const packet = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)) },
  { weight: 4, arbitrary: mutatedQuery },
  { weight: 2, arbitrary: malformedQuery },
  { weight: 1, arbitrary: validQuery },
);

// ---- checks ----------------------------------------------------------------------------------------------------

/** Gives each packet of a batch its own ID (where it has one), so that answers can be matched to packets. */
function withIds(packets: readonly Buffer[], base: number): Buffer[] {
  return packets.map((p, i) => {
    const b = Buffer.from(p);
    if (b.length >= 2) b.writeUInt16BE((base + i) & 0xffff, 0);
    return b;
  });
}

/** The answer the decoder's classification calls for, checked field by field, within the transport's size limit. */
function checkAnswer(msg: Buffer, reply: Buffer | undefined, transport: "udp" | "tcp"): void {
  const d = decodeQuery(msg);
  if (d.kind === "drop") {
    expect(reply, "a dropped message was answered").toBeUndefined();
    return;
  }
  expect(reply, `no answer to ${msg.toString("hex")}`).toBeDefined();
  const r = reply!;
  const h = readHeader(r);
  const queryFlags = msg.readUInt16BE(2);
  expect(h).toMatchObject({ id: msg.readUInt16BE(0), qr: true, ra: false, opcode: (queryFlags >> 11) & 0xf });
  const edns = d.kind === "query" ? d.query.edns : d.edns;
  const questionEnd = d.kind === "query" ? d.query.questionEnd : d.questionEnd;
  if (d.kind === "error") {
    expect(h.rcode).toBe(d.rcode & 0xf);
    expect([h.an, h.ns]).toEqual([0, 0]);
  } else {
    // After the sync nothing is SERVFAIL; unknown types and classes get NODATA, NXDOMAIN, REFUSED or NOTIMP.
    expect([Rcode.NOERROR, Rcode.NXDOMAIN, Rcode.NOTIMP, Rcode.REFUSED]).toContain(h.rcode);
  }
  if (questionEnd > 12) {
    expect(h.qd).toBe(1);
    expect(r.subarray(12, questionEnd).equals(msg.subarray(12, questionEnd))).toBe(true);
  }
  const limit =
    transport === "tcp" ? 65_535 : edns === null ? 512 : Math.min(Math.max(edns.udpSize, 512), 1232);
  expect(r.length).toBeLessThanOrEqual(limit);
}

function matchReplies(sent: readonly Buffer[], replies: readonly Buffer[], transport: "udp" | "tcp"): void {
  const byId = new Map<number, Buffer>();
  for (const r of replies) {
    const id = r.readUInt16BE(0);
    expect(byId.has(id), `two answers with ID ${id}`).toBe(false);
    byId.set(id, r);
  }
  let expected = 0;
  for (const msg of sent) {
    const reply = msg.length >= 2 ? byId.get(msg.readUInt16BE(0)) : undefined;
    checkAnswer(msg, reply, transport);
    if (reply !== undefined) expected++;
  }
  expect(replies).toHaveLength(expected);
}

function expectWebAnswer(reply: Buffer | undefined, id: number): void {
  expect(reply).toBeDefined();
  const h = readHeader(reply!);
  expect(h).toMatchObject({ id, qr: true, rcode: 0, an: 2 });
  const addresses = [reply!.length - 16, reply!.length - 32].map((at) =>
    [...reply!.subarray(at + 12, at + 16)].join("."),
  );
  expect(addresses.sort()).toEqual(WEB_ADDRESSES);
}

async function internalErrors(server: TestServer): Promise<number> {
  const text = await server.podns.metrics.registry.metrics();
  return Number(/^podns_dns_dropped_total\{reason="internal"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

/** Sends every packet from one UDP socket; the answers that arrive until `count` have or `ms` pass. */
async function udpBatch(
  port: number,
  packets: readonly Buffer[],
  count: number,
  ms = 1000,
): Promise<Buffer[]> {
  const socket = dgram.createSocket("udp4");
  const replies: Buffer[] = [];
  try {
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    socket.on("message", (m) => replies.push(m));
    for (const p of packets) socket.send(p, port, "127.0.0.1");
    const deadline = Date.now() + ms;
    while (replies.length < count && Date.now() < deadline) await sleep(5);
    // Anything answered that should not have been arrives by now.
    await sleep(30);
    return replies;
  } finally {
    socket.close();
  }
}

// ---- properties ------------------------------------------------------------------------------------------------

describe("the whole server under hostile packets", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startPodns(DEMO);
  });
  afterAll(() => server.stop());

  it("answers each UDP message as its classification says, and a normal query after every batch", async () => {
    let base = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(packet, { minLength: BATCH, maxLength: BATCH }), async (raw) => {
        base += BATCH;
        const sent = withIds(raw, base);
        const answerable = sent.filter((p) => decodeQuery(p).kind !== "drop").length;
        matchReplies(sent, await udpBatch(server.port, sent, answerable), "udp");
        const id = 0xfff0;
        const [reply] = await udpBatch(server.port, [buildQuery({ id, qname: WEB })], 1);
        expectWebAnswer(reply, id);
      }),
      { numRuns: UDP_RUNS, endOnFailure: true },
    );
    expect(await internalErrors(server)).toBe(0);
  }, 60_000);

  it("answers each TCP message pipelined on one connection, in order, then a normal query on the same connection", async () => {
    let base = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(packet, { minLength: BATCH, maxLength: BATCH }), async (raw) => {
        base += BATCH;
        const sent = withIds(raw, base);
        const answerable = sent.filter((p) => decodeQuery(p).kind !== "drop");
        const id = 0xfff1;
        const conn = await TcpConnection.connect(server.port);
        try {
          await conn.write(Buffer.concat([...sent, buildQuery({ id, qname: WEB })].map(frame)));
          const replies = await conn.read(answerable.length + 1, 2000);
          expect(replies.map((r) => r.readUInt16BE(0))).toEqual([
            ...answerable.map((p) => p.readUInt16BE(0)),
            id,
          ]);
          matchReplies(sent, replies.slice(0, -1), "tcp");
          expectWebAnswer(replies[replies.length - 1], id);
        } finally {
          conn.close();
        }
      }),
      { numRuns: TCP_RUNS, endOnFailure: true },
    );
    expect(await internalErrors(server)).toBe(0);
  }, 60_000);

  it("survives unframed garbage on TCP connections and still answers on a fresh one", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 4096 }), async (garbage) => {
        const conn = await TcpConnection.connect(server.port);
        try {
          await conn.write(garbage).catch(() => {});
          // Whatever the stream happened to frame is answered or dropped; the connection may stay for more bytes.
          await conn.read(1000, 20);
        } finally {
          conn.close();
        }
        const fresh = await TcpConnection.connect(server.port);
        try {
          await fresh.write(frame(buildQuery({ id: 7, qname: WEB })));
          expectWebAnswer((await fresh.read(1, 1000))[0], 7);
        } finally {
          fresh.close();
        }
      }),
      { numRuns: 40, endOnFailure: true },
    );
    expect(await internalErrors(server)).toBe(0);
  }, 60_000);
});

describe("a soak of 20,000 hostile packets (bench/soak.ts) against podns serve", () => {
  it("has no crash, answers every health check, and keeps RSS flat after the warm-up", async () => {
    const result = await runSoak({
      count: 20_000,
      warmup: 50_000,
      seed: 7,
      bin: path.resolve("bin/podns.js"),
      zones: path.resolve("zones"),
    });
    expect(result.exits).toBe(0);
    expect(result.internalErrors).toBe(0);
    expect(result.healthFailures).toBe(0);
    expect(result.healthChecks).toBeGreaterThan(100);
    expect(result.answers).toBeGreaterThan(result.packets / 2);
    // The response cache is full after the warm-up: growth now would be a leak (measured: under 4 MiB). A leak of
    // one kilobyte per packet would add 20 MiB.
    expect(result.rssAfter - result.rssBefore).toBeLessThan(16 * 1024 * 1024);
  }, 60_000);
});
