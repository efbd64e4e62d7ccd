/**
 * The per-query path: decode, look up, encode. Encoded responses are cached by qname, told apart by what changes
 * their bytes (qtype, qclass, size limit, EDNS and DO, the querier's topology zone, the client subnet), and checked
 * against what they were built from; a hit costs one copy and a few patched bytes. A/AAAA answers are cached as
 * fixed-size record blocks and put in weighted random order per query by copying blocks, never by encoding again.
 * dns2's codec is deliberately not used here: measured on this hardware it parses about 28k queries/s and encodes
 * about 500 ten-record responses/s, far below the socket's rate (FACTS.md, BENCHMARKS.md).
 */
import { LRUCache } from "lru-cache";
import { Flag, QClass, QType, Rcode } from "../dns/constants.js";
import type { Fqdn } from "../dns/name.js";
import { decodeQuery, type Query } from "../dns/query.js";
import type { RrSet, SoaRecord } from "../dns/records.js";
import { encodeError, encodeResponse, MAX_TCP_MESSAGE, udpLimit } from "../dns/response.js";
import { type Random, weightedOrder } from "../dns/shuffle.js";
import { MessageWriter } from "../dns/writer.js";
import { VERSION } from "../version.js";
import type { ZoneIndex } from "../zone/index.js";
import { answerChaos, lookup, type Outcome } from "../zone/lookup.js";
import type { NameNode, Snapshot } from "../zone/snapshot.js";
import type { ZoneStore } from "../zone/store.js";

export type Transport = "udp" | "tcp";

/** Receives one call per answered query, for metrics. Must not throw. */
export interface QueryObserver {
  observe(qtype: number, rcode: number, transport: Transport, bytes: number, cached: boolean): void;
  dropped(reason: "malformed" | "response" | "internal"): void;
}

export interface AnswerPolicy {
  /** Told for `id.server`/`hostname.bind` and with the version for `version.bind` in class CH; unset: REFUSED. */
  readonly identity?: string;
  /** Put A/AAAA answers in weighted random order per query (`--shuffle on`). */
  readonly shuffle: boolean;
  /** At most this many A/AAAA records per answer, a weighted sample; 0 is all (`--max-answers`). */
  readonly maxAnswers: number;
  /** Uniform numbers in [0, 1); tests pass a seeded generator. */
  readonly random?: Random;
}

/** Cached responses: at most 50,000 qnames and 32 MiB in all (TCP answers reach 64 KiB each). */
const CACHE_ENTRIES = 50_000;
/**
 * Responses kept per qname (qtypes, size limits, topology zones, client subnets): a bound on the scan per query,
 * which clients could otherwise lengthen by varying their EDNS payload size or subnet.
 */
const VARIANTS_PER_NAME = 16;
const CACHE_BYTES = 32 * 1024 * 1024;
/**
 * Bytes of heap a cached response holds besides its own bytes (the Buffer, the entry, its dependency arrays, its
 * place in the list), and a copied client-subnet option (an ArrayBuffer of its own); measured with
 * test/integration/cache-attack.test.ts.
 */
const ENTRY_OVERHEAD = 1024;
const ECS_OVERHEAD = 192;
/** Wire size of an A and an AAAA record whose owner is a pointer to the question (RFC 1035 section 4.1.3). */
const BLOCK_SIZE: Record<number, number> = { [QType.A]: 16, [QType.AAAA]: 28 };

interface Cached {
  /** What the bytes were built for, besides the qname (see `find`). */
  readonly qtype: number;
  readonly qclass: number;
  /** The UDP size limit times four plus EDNS (0 none, 1 present, 2 with DO): small integers compare fastest. */
  readonly limitEdns: number;
  readonly zone: string | undefined;
  readonly ecs: Uint8Array | undefined;
  readonly bytes: Buffer;
  /**
   * With `--max-answers` over UDP: `bytes` hold the whole RRset, untruncated, to sample from; a sample larger than
   * the size limit gets this truncated response instead.
   */
  readonly truncated?: Buffer;
  /** The zone index the answer came from: the store starts a new one when the set of zones changes. */
  readonly index: ZoneIndex;
  /** The names the answer was built from, with their generations then: a change to any invalidates it. */
  readonly deps: readonly NameNode[];
  readonly gens: readonly number[];
  /** Answers a generation cannot vouch for (built before the first sync, REFUSED): valid for one version only. */
  readonly version: number | undefined;
  /** Names of served zones that were absent (an NXDOMAIN qname, a record's target): valid while they stay absent. */
  readonly absent: readonly Fqdn[];
  /**
   * A negative answer's SOA (RFC 2308): the zone, the record as written, and where its serial is in `bytes`. The
   * serial moves with every publish and is patched in; any other change to the SOA invalidates the answer.
   */
  readonly soa: { readonly apex: Fqdn; readonly record: SoaRecord; readonly serialAt: number } | undefined;
  /** The answer's records as blocks to reorder, when the answer is one weighted A/AAAA RRset. */
  readonly blocks?: {
    readonly start: number;
    readonly size: number;
    readonly weights: readonly number[];
    readonly preferred: number;
  };
}

export class QueryHandler {
  private readonly writer = new MessageWriter();
  /**
   * Keyed by the lowercased qname that decoding builds anyway, so a hit builds no key string; the few responses
   * per name are told apart by `find`.
   */
  private readonly cache = new LRUCache<Fqdn, Cached[]>({
    max: CACHE_ENTRIES,
    maxSize: CACHE_BYTES,
    sizeCalculation: (entries, qname) => qname.length + entries.reduce((sum, e) => sum + entrySize(e), 0),
  });
  private readonly order: number[] = [];
  private keys = new Float64Array(64);
  private readonly random: Random;

  constructor(
    private readonly store: ZoneStore,
    private readonly observer: QueryObserver,
    private readonly policy: AnswerPolicy = { shuffle: true, maxAnswers: 0 },
  ) {
    this.random = policy.random ?? Math.random;
  }

  /** Answers one message from `client` (its IP address); null means send nothing. Never throws. */
  handle(msg: Buffer, transport: Transport, client = ""): Buffer | null {
    try {
      return this.answer(msg, transport, client);
    } catch {
      // A bug must cost one answer, not the server: SERVFAIL when the header can be echoed (RFC 1035 4.1.1).
      this.observer.dropped("internal");
      if (msg.length < 12) return null;
      try {
        return encodeError(
          this.writer,
          msg,
          msg.readUInt16BE(0),
          msg.readUInt16BE(2),
          Rcode.SERVFAIL,
          12,
          null,
        );
      } catch {
        return null;
      }
    }
  }

  private answer(msg: Buffer, transport: Transport, client: string): Buffer | null {
    const decoded = decodeQuery(msg);
    if (decoded.kind === "drop") {
      this.observer.dropped(msg.length < 12 ? "malformed" : "response");
      return null;
    }
    if (decoded.kind === "error") {
      const { id, flags, rcode, questionEnd, qtype, edns } = decoded;
      const out = encodeError(this.writer, msg, id, flags, rcode, questionEnd, edns);
      this.observer.observe(qtype, rcode, transport, out.length, false);
      return out;
    }
    const query = decoded.query;
    const snap = this.store.current;
    // The querier's zone: from EDNS Client Subnet (RFC 7871) when present, and then from it alone (the source is a
    // resolver, whose own zone must not be cached for the subnet; a subnet wider than one pod names no zone);
    // else from the source address.
    const subnet = query.edns?.clientSubnet;
    const zone = snap.zoneAware ? snap.clients.zoneOfAddress(subnet ?? client) : undefined;
    const limit = transport === "udp" ? udpLimit(query.edns) : MAX_TCP_MESSAGE;
    const limitEdns = limit * 4 + (query.edns === null ? 0 : query.edns.dnssecOk ? 2 : 1);
    const variants = this.cache.get(query.qname);
    let cached = variants === undefined ? undefined : find(variants, query, limitEdns, zone);
    const hit = cached !== undefined && isCurrent(cached, snap);
    if (!hit) {
      const outcome =
        query.qclass === QClass.CH
          ? answerChaos(query.qname, query.qtype, this.policy.identity, VERSION)
          : lookup(snap, query.qname, query.qtype, query.qclass, zone);
      const fresh = this.encode(msg, query, outcome, snap, limitEdns, zone);
      // SERVFAIL before sync is not cached: the next snapshot will answer it.
      if (outcome.rcode !== Rcode.SERVFAIL) this.remember(query.qname, variants, cached, fresh);
      cached = fresh;
    }
    const entry = cached!;
    const out = entry.blocks === undefined ? patch(entry.bytes, msg, query) : this.arrange(entry, msg, query);
    // A negative answer from the cache was built in an earlier publish: it gets the serial of this one.
    if (hit && entry.soa !== undefined) {
      out.writeUInt32BE(snap.zones.get(entry.soa.apex)!.soa.serial, entry.soa.serialAt);
    }
    this.observer.observe(query.qtype, out[3]! & 0xf, transport, out.length, hit);
    return out;
  }

  /** Encodes an outcome for this query and records what the encoding depends on. */
  private encode(
    msg: Buffer,
    query: Query,
    outcome: Outcome,
    snap: Snapshot,
    limitEdns: number,
    zone: string | undefined,
  ): Cached {
    const limit = limitEdns >> 2;
    let bytes = encodeResponse(this.writer, msg, query, outcome, limit);
    // Where the SOA serial is, for a negative answer; a sample's whole RRset (below) is positive and has none.
    const serialAt = this.writer.soaSerialAt;
    let truncated: Buffer | undefined;
    let blocks: Cached["blocks"];
    if ((bytes[2]! & 0x02) !== 0 && this.policy.maxAnswers > 0 && limit < MAX_TCP_MESSAGE) {
      // A sample of `--max-answers` records may fit where the whole RRset did not: keep the whole set to sample.
      const whole = encodeResponse(this.writer, msg, query, outcome, MAX_TCP_MESSAGE);
      blocks = this.blocksOf(outcome, whole, query);
      if (blocks !== undefined) {
        truncated = bytes;
        bytes = whole;
      }
    } else {
      blocks = this.blocksOf(outcome, bytes, query);
    }
    const ecsOption = query.edns?.clientSubnetOption;
    return {
      qtype: query.qtype,
      qclass: query.qclass,
      limitEdns,
      zone,
      // A copy: the option is a view of the received message, which the cache must not keep alive.
      ecs: ecsOption === undefined ? undefined : new Uint8Array(ecsOption),
      bytes,
      truncated,
      index: snap.index,
      blocks,
      ...dependencies(snap, query, outcome, serialAt),
    };
  }

  /** Stores `fresh` in place of `stale` (its outdated version, if any), keeping at most VARIANTS_PER_NAME. */
  private remember(
    qname: Fqdn,
    variants: Cached[] | undefined,
    stale: Cached | undefined,
    fresh: Cached,
  ): void {
    // A new list, not the old one edited: lru-cache recounts a value's size only when a different value is set.
    const next = variants === undefined ? [] : variants.filter((v) => v !== stale);
    if (next.length >= VARIANTS_PER_NAME) next.shift();
    next.push(fresh);
    this.cache.set(qname, next);
  }

  /**
   * Where the answer's record blocks are, when they can be reordered by copying: one A/AAAA RRset at the qname,
   * every record written as a pointer to the question plus fixed fields, and the policy asks for reordering.
   */
  private blocksOf(outcome: Outcome, bytes: Buffer, q: Query): Cached["blocks"] {
    if (!this.policy.shuffle && this.policy.maxAnswers === 0) return undefined;
    if (outcome.answer.length !== 1 || (bytes[2]! & 0x02) !== 0) return undefined;
    const set: RrSet = outcome.answer[0]!;
    const size = BLOCK_SIZE[set.type];
    const n = set.records.length;
    if (size === undefined || n < 2 || bytes.readUInt16BE(6) !== n) return undefined;
    const start = q.questionEnd;
    for (let i = 0; i < n; i++) {
      if (bytes.readUInt16BE(start + i * size) !== 0xc00c) return undefined;
    }
    const weights = set.weights ?? set.records.map(() => 1);
    return { start, size, weights, preferred: set.preferred ?? 0 };
  }

  /** The answer's blocks in weighted random order, cut to `maxAnswers`, around the cached header and question. */
  private arrange(cached: Cached, msg: Buffer, q: Query): Buffer {
    const { bytes } = cached;
    const { start, size, weights, preferred } = cached.blocks!;
    const n = weights.length;
    const k = this.policy.maxAnswers > 0 ? Math.min(n, this.policy.maxAnswers) : n;
    if (this.keys.length < n) this.keys = new Float64Array(n * 2);
    const order = this.policy.shuffle
      ? weightedOrder(weights, this.random, this.order, this.keys, preferred)
      : identity(this.order, n);
    const length = bytes.length - (n - k) * size;
    if (cached.truncated !== undefined && length > cached.limitEdns >> 2)
      return patch(cached.truncated, msg, q);
    const out = Buffer.allocUnsafe(length);
    copyBytes(bytes, 0, out, 0, start);
    for (let i = 0; i < k; i++) copyBytes(bytes, start + order[i]! * size, out, start + i * size, size);
    copyBytes(bytes, start + n * size, out, start + k * size, bytes.length - start - n * size);
    out[6] = k >> 8;
    out[7] = k & 0xff;
    return patch(out, msg, q, false);
  }
}

/**
 * What a cached answer depends on. It stays valid while the names it was built from (the qname, its CNAME chain, the
 * targets of its CNAME, SRV, MX and NS records, the additional section's owners) keep their generation, the names
 * of served zones it found absent (an NXDOMAIN qname, a dangling target) stay absent, and the zone's SOA changes
 * in nothing but its serial, which is patched in. So a change to one Service leaves every other Service's cached
 * answers in place, negative ones included. Answers built before the first sync, and any other rcode, last one
 * version. `serialAt` is where the writer put the SOA serial, or -1.
 */
function dependencies(
  snap: Snapshot,
  q: Query,
  outcome: Outcome,
  serialAt: number,
): Pick<Cached, "deps" | "gens" | "version" | "absent" | "soa"> {
  const deps: NameNode[] = [];
  const absent: Fqdn[] = [];
  const add = (name: Fqdn, mayBeAbsent = false) => {
    const node = snap.nodes.get(name);
    if (node !== undefined) {
      if (!deps.includes(node)) deps.push(node);
    } else if (mayBeAbsent && !absent.includes(name) && snap.zoneOf(name) !== undefined) absent.push(name);
  };
  add(q.qname, true);
  for (const set of outcome.answer) {
    add(set.name);
    for (const rr of set.records) {
      if (rr.type === QType.CNAME || rr.type === QType.SRV || rr.type === QType.NS) add(rr.target, true);
      else if (rr.type === QType.MX) add(rr.exchange, true);
    }
  }
  for (const set of outcome.additional) add(set.name);
  const { rcode, answer, authority } = outcome;
  const soaSet = authority.length === 1 && authority[0]!.type === QType.SOA ? authority[0]! : undefined;
  let soa: Cached["soa"];
  let lasting = snap.synced && (rcode === Rcode.NOERROR || rcode === Rcode.NXDOMAIN);
  if (soaSet !== undefined && serialAt >= 0) {
    soa = { apex: soaSet.name, record: soaSet.records[0] as SoaRecord, serialAt };
  } else if (authority.length > 0 || answer.length === 0) {
    lasting = false;
  }
  return {
    deps,
    gens: deps.map((n) => n.gen),
    absent,
    soa: lasting ? soa : undefined,
    version: lasting ? undefined : snap.version,
  };
}

function isCurrent(entry: Cached, snap: Snapshot): boolean {
  if (entry.index !== snap.index) return false;
  if (entry.version !== undefined && entry.version !== snap.version) return false;
  const { deps, gens, absent, soa } = entry;
  for (let i = 0; i < deps.length; i++) if (deps[i]!.gen !== gens[i]) return false;
  for (let i = 0; i < absent.length; i++) if (snap.nodes.get(absent[i]!) !== undefined) return false;
  if (soa !== undefined) {
    const zone = snap.zones.get(soa.apex);
    if (zone === undefined || !sameBesidesSerial(zone.soa, soa.record)) return false;
  }
  return true;
}

/** Whether the SOA a negative answer carries now (RFC 2308 section 3: TTL the lesser of TTL and MINIMUM) is `written` but for the serial. */
function sameBesidesSerial(now: SoaRecord, written: SoaRecord): boolean {
  return (
    Math.min(now.ttl, now.minimum) === written.ttl &&
    now.minimum === written.minimum &&
    now.mname === written.mname &&
    now.rname === written.rname &&
    now.refresh === written.refresh &&
    now.retry === written.retry &&
    now.expire === written.expire
  );
}

function entrySize(e: Cached): number {
  return (
    e.bytes.length +
    (e.truncated?.length ?? 0) +
    ENTRY_OVERHEAD +
    (e.ecs === undefined ? 0 : ECS_OVERHEAD) +
    e.absent.length * 64
  );
}

function identity(order: number[], n: number): number[] {
  order.length = n;
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}

/** The cached response built for a query of this shape, if any. */
function find(
  variants: readonly Cached[],
  q: Query,
  limitEdns: number,
  zone: string | undefined,
): Cached | undefined {
  for (let i = 0; i < variants.length; i++) {
    const v = variants[i]!;
    if (v.qtype === q.qtype && v.limitEdns === limitEdns && v.qclass === q.qclass && v.zone === zone) {
      // The echoed client-subnet option is part of the bytes (RFC 7871 section 7.2.1).
      if (sameBytes(v.ecs, q.edns?.clientSubnetOption)) return v;
    }
  }
  return undefined;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A response for this query: its ID, its RD and CD bits, and its question bytes (the letter case). Copies `base`
 * first unless it is already a fresh buffer.
 */
function patch(base: Buffer, msg: Buffer, q: Query, copy = true): Buffer {
  let out = base;
  if (copy) {
    out = Buffer.allocUnsafe(base.length);
    out.set(base);
  }
  out[0] = q.id >> 8;
  out[1] = q.id & 0xff;
  const keep = Flag.RD | Flag.CD;
  const flags = (((base[2]! << 8) | base[3]!) & ~keep) | (q.flags & keep);
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  copyBytes(msg, 12, out, 12, q.questionEnd - 12);
  return out;
}

/**
 * Copies `length` bytes. Buffer#copy with offsets creates a Uint8Array view per call (Node 20 `_copyActual`), which
 * made copying 16-byte record blocks the largest cost of a cached answer (query-path bench); a loop allocates nothing.
 */
function copyBytes(
  from: Uint8Array,
  fromStart: number,
  to: Uint8Array,
  toStart: number,
  length: number,
): void {
  for (let i = 0; i < length; i++) to[toStart + i] = from[fromStart + i]!;
}
