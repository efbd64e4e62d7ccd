/**
 * Property-based tests of the query decoder (fast-check): arbitrary bytes never make it throw and always get a
 * consistent classification; well-formed queries decode to exactly what was encoded; and each class of malformed
 * query named in RFC 1035, RFC 6891 and RFC 9619 is dropped or gets FORMERR (or the rcode its rule names).
 */
import { isIP } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rcode } from "../../src/dns/constants.js";
import { type Decoded, decodeQuery } from "../../src/dns/query.js";
import { buildQuery, type OptSpec, optRecord } from "../support/raw-dns.js";

const RUNS = { numRuns: 1000 };
const IXFR = 251;
const OPT = 41;

// ---- generators ------------------------------------------------------------------------------------------------

const asciiLabel = fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/).map((s) => Buffer.from(s, "latin1"));
const binaryLabel = fc.uint8Array({ minLength: 1, maxLength: 63 }).map((a) => Buffer.from(a));
const label = fc.oneof({ weight: 4, arbitrary: asciiLabel }, { weight: 1, arbitrary: binaryLabel });

/** Labels whose wire form (length octets, labels and the root) is at most 255 octets (RFC 1035 2.3.4). */
const labels = fc.array(label, { maxLength: 10 }).map((all) => {
  const kept: Buffer[] = [];
  let size = 1;
  for (const l of all) {
    if (size + 1 + l.length > 255) break;
    kept.push(l);
    size += 1 + l.length;
  }
  return kept;
});

/** Labels of exactly 255 octets in wire form, the longest legal name. */
const longestName = fc.constant([63, 63, 63, 61].map((n) => Buffer.alloc(n, 0x61)));

function wireName(ls: readonly Buffer[]): Buffer {
  return Buffer.concat([...ls.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0])]);
}

/** The decoder's lookup key for these labels: lowercased (RFC 4343), `\DDD` for bytes that cannot stand alone. */
function expectedKey(ls: readonly Buffer[]): string {
  if (ls.length === 0) return ".";
  const text = ls.map((l) =>
    [...l]
      .map((c) => {
        const d = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
        return d > 0x20 && d < 0x7f && d !== 0x2e && d !== 0x5c
          ? String.fromCharCode(d)
          : `\\${String(d).padStart(3, "0")}`;
      })
      .join(""),
  );
  return `${text.join(".")}.`;
}

const u16 = fc.integer({ min: 0, max: 0xffff });
/** The second header word of a query: QR 0, opcode QUERY, every other bit random. */
const queryFlags = u16.map((f) => f & ~0x8000 & ~0x7800);
const qtype = fc.oneof(
  fc.constantFrom(1, 2, 5, 6, 12, 16, 28, 33, 255, 252, 0, OPT, 65535),
  u16.filter((t) => t !== IXFR),
);
const qclass = fc.oneof(fc.constantFrom(1, 3, 254, 255, 0), u16);

/** EDNS options other than Client Subnet (its address is checked elsewhere). */
const ednsOption = fc.record({
  code: u16.filter((c) => c !== 8),
  data: fc.uint8Array({ maxLength: 40 }),
});
const opt: fc.Arbitrary<OptSpec> = fc.record({
  udpSize: u16,
  version: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }) },
  ),
  dnssecOk: fc.boolean(),
  options: fc.array(ednsOption, { maxLength: 3 }),
});

/** A record in the additional section that is not OPT: uncompressed owner, or a pointer back to the question. */
const otherAdditional = fc
  .record({
    owner: fc.oneof(labels.map(wireName), fc.constant(Buffer.from([0xc0, 0x0c]))),
    type: u16.filter((t) => t !== OPT),
    klass: u16,
    ttl: fc.integer({ min: 0, max: 0xffffffff }),
    rdata: fc.uint8Array({ maxLength: 30 }),
  })
  .map(({ owner, type, klass, ttl, rdata }) => {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(type, 0);
    fixed.writeUInt16BE(klass, 2);
    fixed.writeUInt32BE(ttl, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    return Buffer.concat([owner, fixed, rdata]);
  });

interface ValidQuery {
  readonly bytes: Buffer;
  readonly id: number;
  readonly flags: number;
  readonly labels: readonly Buffer[];
  readonly qtype: number;
  readonly qclass: number;
  readonly opt: OptSpec | undefined;
  readonly questionEnd: number;
}

const validQuery: fc.Arbitrary<ValidQuery> = fc
  .record({
    id: u16,
    flags: queryFlags,
    labels: fc.oneof({ weight: 9, arbitrary: labels }, { weight: 1, arbitrary: longestName }),
    qtype,
    qclass,
    opt: fc.option(opt, { nil: undefined }),
    others: fc.array(otherAdditional, { maxLength: 2 }),
  })
  .map(({ id, flags, labels: ls, qtype: t, qclass: c, opt: o, others }) => {
    const qname = wireName(ls);
    const bytes = buildQuery({ id, flags, qname, qtype: t, qclass: c, additionals: others, opt: o });
    return { bytes, id, flags, labels: ls, qtype: t, qclass: c, opt: o, questionEnd: 12 + qname.length + 4 };
  });

// ---- invariants ------------------------------------------------------------------------------------------------

/** What holds for any input: no exception, and a classification consistent with the header. */
function checkConsistent(msg: Uint8Array): Decoded {
  const copy = Buffer.from(msg);
  const d = decodeQuery(msg);
  expect(Buffer.from(msg)).toEqual(copy);
  expect(decodeQuery(msg)).toEqual(d);
  if (msg.length < 12 || (msg[2]! & 0x80) !== 0) {
    expect(d.kind).toBe("drop");
    return d;
  }
  const header = { id: (msg[0]! << 8) | msg[1]!, flags: (msg[2]! << 8) | msg[3]! };
  const opcode = (header.flags >> 11) & 0xf;
  const count = (i: number) => (msg[i]! << 8) | msg[i + 1]!;
  if (d.kind === "drop") throw new Error("a message with a header and QR=0 was dropped");
  if (d.kind === "error") {
    expect({ id: d.id, flags: d.flags }).toEqual(header);
    expect([Rcode.FORMERR, Rcode.NOTIMP, Rcode.REFUSED, Rcode.BADVERS]).toContain(d.rcode);
    expect(d.rcode === Rcode.NOTIMP).toBe(opcode !== 0);
    expect(d.questionEnd).toBeGreaterThanOrEqual(12);
    expect(d.questionEnd).toBeLessThanOrEqual(msg.length);
    if (d.rcode === Rcode.BADVERS) expect(d.edns?.version).not.toBe(0);
    return d;
  }
  const q = d.query;
  expect(opcode).toBe(0);
  expect([count(4), count(6), count(8)]).toEqual([1, 0, 0]);
  expect({ id: q.id, flags: q.flags }).toEqual(header);
  expect(q.questionEnd).toBeLessThanOrEqual(msg.length);
  expect(q.qtype).toBe(count(q.questionEnd - 4));
  expect(q.qclass).toBe(count(q.questionEnd - 2));
  expect(q.qtype).not.toBe(IXFR);
  expect(q.qname.endsWith(".")).toBe(true);
  expect(q.qname).toBe(q.qname.toLowerCase());
  if (q.edns !== null) {
    expect(q.edns.version).toBe(0);
    expect(q.edns.udpSize).toBeGreaterThanOrEqual(512);
  }
  return d;
}

function expectFormErr(msg: Uint8Array): void {
  const d = checkConsistent(msg);
  expect(d).toMatchObject({ kind: "error", rcode: Rcode.FORMERR });
}

function setCount(msg: Buffer, offset: number, value: number): Buffer {
  const out = Buffer.from(msg);
  out.writeUInt16BE(value, offset);
  return out;
}

// ---- properties ------------------------------------------------------------------------------------------------

describe("decodeQuery on arbitrary input", () => {
  it("never throws and classifies every byte string consistently", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        checkConsistent(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it("never throws on byte strings with a plausible query header", () => {
    const header = fc.tuple(
      u16,
      queryFlags,
      fc.constantFrom(0, 1, 2),
      fc.constantFrom(0, 1),
      fc.constantFrom(0, 1),
    );
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 300 }), ([id, flags, qd, an, ar], body) => {
        const h = Buffer.alloc(12);
        h.writeUInt16BE(id, 0);
        h.writeUInt16BE(flags, 2);
        h.writeUInt16BE(qd, 4);
        h.writeUInt16BE(an, 6);
        h.writeUInt16BE(ar, 10);
        checkConsistent(Buffer.concat([h, body]));
      }),
      { numRuns: 5000 },
    );
  });

  it("never throws on valid queries with bytes flipped, inserted, deleted or cut", () => {
    const edit = fc.record({
      kind: fc.constantFrom("set", "insert", "delete", "cut", "xor"),
      at: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(validQuery, fc.array(edit, { minLength: 1, maxLength: 4 }), (q, edits) => {
        let b = Buffer.from(q.bytes);
        for (const e of edits) {
          const at = e.at % (b.length + 1);
          if (e.kind === "set" && at < b.length) b[at] = e.byte;
          else if (e.kind === "xor" && at < b.length) b[at] = b[at]! ^ (1 << (e.byte % 8));
          else if (e.kind === "insert")
            b = Buffer.concat([b.subarray(0, at), Buffer.from([e.byte]), b.subarray(at)]);
          else if (e.kind === "delete") b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
          else if (e.kind === "cut") b = b.subarray(0, at);
        }
        checkConsistent(b);
      }),
      { numRuns: 5000 },
    );
  });
});

describe("decodeQuery on well-formed queries", () => {
  it("returns the ID, flags, lowercased name, type, class, question end and EDNS that were encoded", () => {
    fc.assert(
      fc.property(validQuery, (q) => {
        const d = checkConsistent(q.bytes);
        const version = q.opt?.version ?? 0;
        if (q.opt !== undefined && version !== 0) {
          expect(d).toMatchObject({ kind: "error", rcode: Rcode.BADVERS, questionEnd: q.questionEnd });
          return;
        }
        expect(d.kind).toBe("query");
        if (d.kind !== "query") return;
        expect(d.query).toMatchObject({
          id: q.id,
          flags: q.flags,
          qname: expectedKey(q.labels),
          qtype: q.qtype,
          qclass: q.qclass,
          questionEnd: q.questionEnd,
        });
        if (q.opt === undefined) expect(d.query.edns).toBeNull();
        else
          expect(d.query.edns).toMatchObject({
            udpSize: Math.max(512, q.opt.udpSize ?? 0),
            version: 0,
            dnssecOk: q.opt.dnssecOk ?? false,
            clientSubnet: undefined,
          });
      }),
      RUNS,
    );
  });

  it("decodes unknown types and classes as queries, leaving the answer to the lookup", () => {
    fc.assert(
      fc.property(
        validQuery,
        u16.filter((t) => t !== IXFR),
        u16,
        (q, t, c) => {
          const b = Buffer.from(q.bytes);
          b.writeUInt16BE(t, q.questionEnd - 4);
          b.writeUInt16BE(c, q.questionEnd - 2);
          const d = checkConsistent(b);
          if (d.kind === "query") expect([d.query.qtype, d.query.qclass]).toEqual([t, c]);
          else expect(d).toMatchObject({ kind: "error", rcode: Rcode.BADVERS });
        },
      ),
      RUNS,
    );
  });

  it("reads an EDNS Client Subnet option of any shape without throwing: an IP address, or FORMERR (RFC 7871 7.1.1)", () => {
    const ecs = fc.oneof(
      fc.uint8Array({ maxLength: 24 }),
      fc
        .tuple(fc.constantFrom(1, 2), fc.integer({ min: 0, max: 128 }), fc.uint8Array({ maxLength: 16 }))
        .map(([family, prefix, addr]) => Uint8Array.from([0, family, prefix, 0, ...addr])),
    );
    fc.assert(
      fc.property(validQuery, ecs, (q, data) => {
        fc.pre(q.opt === undefined && q.qtype !== IXFR);
        const ar = q.bytes.readUInt16BE(10);
        const b = setCount(Buffer.concat([q.bytes, optRecord({ options: [{ code: 8, data }] })]), 10, ar + 1);
        const d = checkConsistent(b);
        if (d.kind === "error") {
          expect(d.rcode).toBe(Rcode.FORMERR);
          return;
        }
        expect(d.kind).toBe("query");
        const subnet = d.kind === "query" ? d.query.edns?.clientSubnet : undefined;
        expect(subnet !== undefined && isIP(subnet) !== 0).toBe(true);
      }),
      RUNS,
    );
  });

  it("refuses IXFR whole (RFC 1995 section 3: its authority section carries the requester's SOA)", () => {
    fc.assert(
      fc.property(validQuery, fc.constantFrom(0, 1), (q, ns) => {
        const b = setCount(Buffer.from(q.bytes), 8, ns);
        b.writeUInt16BE(IXFR, q.questionEnd - 4);
        expect(checkConsistent(b)).toMatchObject({
          kind: "error",
          rcode: Rcode.REFUSED,
          questionEnd: q.questionEnd,
        });
      }),
      RUNS,
    );
  });
});

describe("decodeQuery on malformed queries", () => {
  it("drops anything shorter than a header", () => {
    fc.assert(
      fc.property(validQuery, fc.integer({ min: 0, max: 11 }), (q, n) => {
        expect(checkConsistent(q.bytes.subarray(0, n))).toEqual({ kind: "drop" });
      }),
      RUNS,
    );
  });

  it("drops responses (QR=1), so that two servers never answer each other", () => {
    fc.assert(
      fc.property(validQuery, (q) => {
        const b = Buffer.from(q.bytes);
        b[2] = b[2]! | 0x80;
        expect(checkConsistent(b)).toEqual({ kind: "drop" });
      }),
      RUNS,
    );
  });

  it("answers other opcodes NOTIMP", () => {
    fc.assert(
      fc.property(validQuery, fc.integer({ min: 1, max: 15 }), (q, opcode) => {
        const b = Buffer.from(q.bytes);
        b[2] = (b[2]! & 0x87) | (opcode << 3);
        expect(checkConsistent(b)).toMatchObject({ kind: "error", rcode: Rcode.NOTIMP });
      }),
      RUNS,
    );
  });

  it("gets FORMERR when cut anywhere after the header (a truncated name, question or record)", () => {
    fc.assert(
      fc.property(
        validQuery.filter((q) => (q.opt?.version ?? 0) === 0),
        fc.nat(),
        (q, at) => {
          expectFormErr(q.bytes.subarray(0, 12 + (at % (q.bytes.length - 12))));
        },
      ),
      RUNS,
    );
  });

  it("gets FORMERR for QDCOUNT 0 and for two or more questions (RFC 9619)", () => {
    fc.assert(
      fc.property(validQuery, fc.oneof(fc.constant(0), fc.integer({ min: 2, max: 0xffff })), (q, qd) => {
        const second = Buffer.concat([wireName(q.labels), Buffer.from([0, 1, 0, 1])]);
        expectFormErr(setCount(q.bytes, 4, qd));
        expectFormErr(setCount(Buffer.concat([q.bytes.subarray(0, q.questionEnd), second]), 4, qd));
      }),
      RUNS,
    );
  });

  it("gets FORMERR for records in the answer or authority section, OPT or not", () => {
    const rr = fc.oneof(otherAdditional, fc.constant(optRecord()));
    fc.assert(
      fc.property(
        validQuery,
        rr,
        fc.constantFrom(6, 8),
        fc.integer({ min: 1, max: 3 }),
        (q, r, section, n) => {
          fc.pre(q.qtype !== IXFR);
          const question = q.bytes.subarray(0, q.questionEnd);
          const b = setCount(setCount(Buffer.concat([question, r]), 10, 0), section, n);
          expectFormErr(b);
          // Counted in the additional section as well, the record still may not sit in the answer or authority.
          expectFormErr(setCount(setCount(Buffer.concat([question, r, r]), 10, 1), section, 1));
        },
      ),
      RUNS,
    );
  });

  it("gets FORMERR for a compression pointer anywhere in the question name: looping, forward or backward", () => {
    fc.assert(
      fc.property(labels, fc.integer({ min: 0, max: 0x3fff }), qtype, (ls, target, t) => {
        const prefix = wireName(ls).subarray(0, -1);
        const at = 12 + prefix.length;
        for (const to of [target, at, at + 2, 12]) {
          const qname = Buffer.concat([prefix, Buffer.from([0xc0 | (to >> 8), to & 0xff])]);
          expectFormErr(buildQuery({ qname, qtype: t }));
        }
      }),
      RUNS,
    );
  });

  it("gets FORMERR for a pointer in an additional record's owner that loops or points forward", () => {
    fc.assert(
      fc.property(validQuery, fc.nat(), (q, n) => {
        const at = q.questionEnd;
        const to = at + (n % (0x4000 - at));
        const record = Buffer.concat([Buffer.from([0xc0 | (to >> 8), to & 0xff]), Buffer.alloc(10)]);
        const b = setCount(Buffer.concat([q.bytes.subarray(0, at), record]), 10, 1);
        if (q.qtype !== IXFR) expectFormErr(b);
      }),
      RUNS,
    );
  });

  it("gets FORMERR for a label longer than 63 octets, in the question or an additional owner", () => {
    const overlong = fc.integer({ min: 64, max: 191 }).chain((len) =>
      fc.oneof(
        // Exactly as many octets as the length says, so only the length itself is wrong.
        fc.uint8Array({ minLength: len, maxLength: len }).map((data) => ({ len, data })),
        fc.uint8Array({ maxLength: 200 }).map((data) => ({ len, data })),
      ),
    );
    fc.assert(
      fc.property(labels, overlong, (ls, { len, data }) => {
        const prefix = wireName(ls).subarray(0, -1);
        const bad = Buffer.concat([Buffer.from([len]), Buffer.from(data), Buffer.from([0])]);
        expectFormErr(buildQuery({ qname: Buffer.concat([prefix, bad]) }));
        const record = Buffer.concat([bad, Buffer.alloc(10)]);
        expectFormErr(buildQuery({ qname: wireName(ls), additionals: [record] }));
      }),
      RUNS,
    );
  });

  it("gets FORMERR for a name longer than 255 octets, and accepts one of exactly 255", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 63 }), { minLength: 4, maxLength: 12 }), (lengths) => {
        const ls = lengths.map((n) => Buffer.alloc(n, 0x62));
        const size = 1 + lengths.reduce((sum, n) => sum + n + 1, 0);
        fc.pre(size !== 255);
        const d = checkConsistent(buildQuery({ qname: wireName(ls) }));
        if (size > 255) expect(d).toMatchObject({ kind: "error", rcode: Rcode.FORMERR });
        else expect(d.kind).toBe("query");
      }),
      RUNS,
    );
    expect(
      checkConsistent(buildQuery({ qname: wireName([63, 63, 63, 61].map((n) => Buffer.alloc(n, 0x61))) }))
        .kind,
    ).toBe("query");
    expectFormErr(buildQuery({ qname: wireName([63, 63, 63, 62].map((n) => Buffer.alloc(n, 0x61))) }));
  });

  it("gets FORMERR for two OPT records, or an OPT not owned by the root (RFC 6891 section 6.1.1)", () => {
    fc.assert(
      fc.property(validQuery, opt, opt, labels, (q, a, b, owner) => {
        fc.pre(q.opt === undefined && q.qtype !== IXFR);
        const base = q.bytes;
        const ar = base.readUInt16BE(10);
        expectFormErr(setCount(Buffer.concat([base, optRecord(a), optRecord(b)]), 10, ar + 2));
        fc.pre(owner.length > 0);
        expectFormErr(
          setCount(Buffer.concat([base, optRecord({ ...a, owner: wireName(owner) })]), 10, ar + 1),
        );
      }),
      RUNS,
    );
  });

  it("gets FORMERR for an EDNS option running past its record, and for bytes after the last record", () => {
    fc.assert(
      fc.property(validQuery, ednsOption, fc.integer({ min: 1, max: 255 }), (q, o, extra) => {
        fc.pre(q.opt === undefined && q.qtype !== IXFR);
        const ar = q.bytes.readUInt16BE(10);
        const record = optRecord({ options: [o] });
        // The option's length field says more than the record holds.
        record.writeUInt16BE(o.data.length + extra, 11 + 2);
        expectFormErr(setCount(Buffer.concat([q.bytes, record]), 10, ar + 1));
        expectFormErr(Buffer.concat([q.bytes, Buffer.alloc(extra)]));
      }),
      RUNS,
    );
  });
});
