/**
 * The per-query path: decode, look up, encode. Encoded responses are cached per snapshot, keyed by what changes
 * their bytes (qname, qtype, qclass, size limit, EDNS and DO); a hit costs one copy and a few patched bytes.
 * dns2's codec is deliberately not used here: measured on this hardware it parses about 28k queries/s and encodes
 * about 500 ten-record responses/s, far below the socket's rate (see /work/shared/FACTS.md and BENCHMARKS.md).
 */
import { LRUCache } from "lru-cache";
import { Flag, Rcode } from "../dns/constants.js";
import { decodeQuery, type Query } from "../dns/query.js";
import { encodeError, encodeResponse, MAX_TCP_MESSAGE, udpLimit } from "../dns/response.js";
import { MessageWriter } from "../dns/writer.js";
import { lookup } from "../zone/lookup.js";
import type { ZoneStore } from "../zone/store.js";

export type Transport = "udp" | "tcp";

/** Receives one call per answered query, for metrics. Must not throw. */
export interface QueryObserver {
  observe(qtype: number, rcode: number, transport: Transport, bytes: number, cached: boolean): void;
  dropped(reason: "malformed" | "response" | "internal"): void;
}

/** Cached responses per snapshot; 10,000 entries of at most 1,232 bytes (UDP) is about 12 MB at worst. */
const CACHE_ENTRIES = 10_000;

export class QueryHandler {
  private readonly writer = new MessageWriter();
  private readonly cache = new LRUCache<string, Buffer>({ max: CACHE_ENTRIES });
  private cacheVersion = -1;

  constructor(
    private readonly store: ZoneStore,
    private readonly observer: QueryObserver,
  ) {}

  /** Answers one message; null means send nothing. Never throws. */
  handle(msg: Buffer, transport: Transport): Buffer | null {
    try {
      return this.answer(msg, transport);
    } catch {
      this.observer.dropped("internal");
      return null;
    }
  }

  private answer(msg: Buffer, transport: Transport): Buffer | null {
    const decoded = decodeQuery(msg);
    if (decoded.kind === "drop") {
      this.observer.dropped(msg.length < 12 ? "malformed" : "response");
      return null;
    }
    if (decoded.kind === "error") {
      const { id, flags, rcode, questionEnd, edns } = decoded;
      const out = encodeError(this.writer, msg, id, flags, rcode, questionEnd, edns);
      this.observer.observe(0, rcode, transport, out.length, false);
      return out;
    }
    const query = decoded.query;
    const snap = this.store.current;
    if (snap.version !== this.cacheVersion) {
      this.cache.clear();
      this.cacheVersion = snap.version;
    }
    const limit = transport === "udp" ? udpLimit(query.edns) : MAX_TCP_MESSAGE;
    const key = cacheKey(query, limit);
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      const out = patch(cached, msg, query);
      this.observer.observe(query.qtype, out[3]! & 0xf, transport, out.length, true);
      return out;
    }
    const outcome = lookup(snap, query.qname, query.qtype, query.qclass);
    const out = encodeResponse(this.writer, msg, query, outcome, limit);
    // SERVFAIL before sync is not cached: the next snapshot will answer it.
    if (outcome.rcode !== Rcode.SERVFAIL) this.cache.set(key, Buffer.from(out));
    this.observer.observe(query.qtype, outcome.rcode, transport, out.length, false);
    return out;
  }
}

function cacheKey(q: Query, limit: number): string {
  const edns = q.edns === null ? 0 : q.edns.dnssecOk ? 2 : 1;
  return `${q.qtype}/${q.qclass}/${limit}/${edns}/${q.qname}`;
}

/** A cached response for this query: its ID, its RD and CD bits, and its question bytes (the letter case). */
function patch(cached: Buffer, msg: Buffer, q: Query): Buffer {
  const out = Buffer.allocUnsafe(cached.length);
  cached.copy(out);
  out.writeUInt16BE(q.id, 0);
  const keep = Flag.RD | Flag.CD;
  out.writeUInt16BE((cached.readUInt16BE(2) & ~keep) | (q.flags & keep), 2);
  msg.copy(out, 12, 12, q.questionEnd);
  return out;
}
