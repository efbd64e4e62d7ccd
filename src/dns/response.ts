/**
 * Encoding of responses: header, echoed question, the three record sections, and the OPT record, fitted to the
 * transport's size limit (RFC 1035 section 4.2.1, RFC 6891 section 6.2.5, RFC 2181 section 9).
 */
import { CLASSIC_UDP_PAYLOAD, Flag, MAX_EDNS_UDP_PAYLOAD, QType } from "./constants.js";
import type { Edns, Query } from "./query.js";
import type { RrSet } from "./records.js";
import type { MessageWriter } from "./writer.js";

/** An OPT record without options: root owner (1), type, class, TTL, RDLENGTH. */
const OPT_SIZE = 11;
/** Largest DNS message over TCP (RFC 1035 section 4.2.2: a 16-bit length prefix). */
export const MAX_TCP_MESSAGE = 65_535;

export interface Sections {
  readonly rcode: number;
  /** The answer depends on the querier's topology zone: an ECS option is echoed with a full scope (RFC 7871). */
  readonly zoned?: boolean;
  /** AA: podns holds the zone (RFC 1035 section 4.1.1). */
  readonly authoritative: boolean;
  readonly answer: readonly RrSet[];
  readonly authority: readonly RrSet[];
  readonly additional: readonly RrSet[];
}

/**
 * Bytes a UDP response may take: min(requester's payload size, 1232) with EDNS, else 512 (RFC 6891 section 6.2.5).
 */
export function udpLimit(edns: Edns | null): number {
  if (edns === null) return CLASSIC_UDP_PAYLOAD;
  return Math.min(Math.max(edns.udpSize, CLASSIC_UDP_PAYLOAD), MAX_EDNS_UDP_PAYLOAD);
}

/**
 * Encodes a response into `w` and returns a copy of its bytes. The question is echoed byte for byte from `msg`, so
 * the answer keeps the question's letter case. When the answer or authority section does not fit, whole RRsets are
 * left out and TC is set; additional RRsets that do not fit are left out whole, without TC (RFC 2181 section 9).
 */
export function encodeResponse(
  w: MessageWriter,
  msg: Uint8Array,
  query: Query,
  sections: Sections,
  limit: number,
): Buffer {
  w.reset();
  w.pos = 12;
  w.bytes(msg.subarray(12, query.questionEnd));
  w.registerName(query.qname, 12);
  const room = limit - optSize(query.edns);
  let an = writeSets(w, sections.answer, room);
  if (an.truncated && limit >= MAX_TCP_MESSAGE) {
    // TC over TCP leaves the client nowhere to go (RFC 7766 section 8): when an RRset exceeds even a TCP message
    // (over a thousand endpoints), send the records that fit, without TC, rather than nothing.
    an = writeRecords(w, sections.answer, room);
  }
  const ns = an.truncated ? NOTHING : writeSets(w, sections.authority, room);
  let ar = an.truncated || ns.truncated ? 0 : writeAdditional(w, sections.additional, room);
  if (query.edns) ar += writeOpt(w, query.edns, sections.rcode, sections.zoned === true);
  const truncated = an.truncated || ns.truncated;
  const flags = responseFlags(query.flags, sections.rcode, sections.authoritative, truncated);
  writeHeader(w, query.id, flags, 1, an.count, ns.count, ar);
  return detached(w);
}

/** A response with no records, for FORMERR, NOTIMP, REFUSED and BADVERS; the question is echoed when known. */
export function encodeError(
  w: MessageWriter,
  msg: Uint8Array,
  id: number,
  queryFlags: number,
  rcode: number,
  questionEnd: number,
  edns: Edns | null,
): Buffer {
  w.reset();
  w.pos = 12;
  const hasQuestion = questionEnd > 12;
  if (hasQuestion) w.bytes(msg.subarray(12, questionEnd));
  const ar = edns ? writeOpt(w, edns, rcode) : 0;
  writeHeader(w, id, responseFlags(queryFlags, rcode, false, false), hasQuestion ? 1 : 0, 0, 0, ar);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** Keeps opcode, RD and CD from the query (RFC 1035 section 4.1.1, RFC 6840 section 5.9); RA is never set. */
function responseFlags(queryFlags: number, rcode: number, aa: boolean, tc: boolean): number {
  let flags = Flag.QR | (queryFlags & (0x7800 | Flag.RD | Flag.CD)) | (rcode & 0xf);
  if (aa) flags |= Flag.AA;
  if (tc) flags |= Flag.TC;
  return flags;
}

/**
 * A copy of the message in memory of its own. Buffer.from would place a small copy in Node's shared 8 KiB pool,
 * and a cached response would then keep a whole pool block alive (measured: 61-80 MiB for 5 MiB of answers).
 */
function detached(w: MessageWriter): Buffer {
  const out = Buffer.allocUnsafeSlow(w.pos);
  w.buf.copy(out, 0, 0, w.pos);
  return out;
}

function writeHeader(
  w: MessageWriter,
  id: number,
  flags: number,
  qd: number,
  an: number,
  ns: number,
  ar: number,
) {
  const b = w.buf;
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(flags, 2);
  b.writeUInt16BE(qd, 4);
  b.writeUInt16BE(an, 6);
  b.writeUInt16BE(ns, 8);
  b.writeUInt16BE(ar, 10);
}

/** Writes records one by one while they fit, across RRsets; never reports truncation. */
function writeRecords(w: MessageWriter, sets: readonly RrSet[], room: number): Written {
  let count = 0;
  for (const set of sets) {
    for (const rr of set.records) {
      const cp = w.checkpoint();
      w.record(rr);
      if (w.pos > room) {
        w.rollback(cp);
        return { count, truncated: false };
      }
      count++;
    }
  }
  return { count, truncated: false };
}

interface Written {
  readonly count: number;
  /** An RRset did not fit and was left out. */
  readonly truncated: boolean;
}
const NOTHING: Written = { count: 0, truncated: false };

/** Writes whole RRsets while they fit. */
function writeSets(w: MessageWriter, sets: readonly RrSet[], room: number): Written {
  let count = 0;
  for (const set of sets) {
    if (!writeWhole(w, set, room)) return { count, truncated: true };
    count += set.records.length;
  }
  return count === 0 ? NOTHING : { count, truncated: false };
}

/** Writes one RRset, or nothing when it does not fit in `room` (RFC 2181 section 9: RRsets are never split). */
function writeWhole(w: MessageWriter, set: RrSet, room: number): boolean {
  const cp = w.checkpoint();
  for (const rr of set.records) {
    w.record(rr);
    if (w.pos > room) {
      w.rollback(cp);
      return false;
    }
  }
  return true;
}

/** Additional data is optional: an RRset that does not fit is left out whole, without TC (RFC 2181 section 9). */
function writeAdditional(w: MessageWriter, sets: readonly RrSet[], room: number): number {
  let count = 0;
  for (const set of sets) if (writeWhole(w, set, room)) count += set.records.length;
  return count;
}

/** OPT (RFC 6891 section 6.1.3): our payload size, the upper 8 bits of the rcode, version 0, DO echoed (RFC 3225). */
function writeOpt(w: MessageWriter, edns: Edns, rcode: number, zoned = false): number {
  w.u8(0);
  w.u16(QType.OPT);
  w.u16(MAX_EDNS_UDP_PAYLOAD);
  w.u8(rcode >> 4);
  w.u8(0);
  w.u16(edns.dnssecOk ? 0x8000 : 0);
  const ecs = edns.clientSubnetOption;
  if (ecs === undefined) {
    w.u16(0);
    return 1;
  }
  // RFC 7871 section 7.2.1: FAMILY, SOURCE PREFIX-LENGTH and ADDRESS as asked; SCOPE PREFIX-LENGTH is the source
  // prefix when the answer was chosen by the querier's zone, else 0 (valid for every client).
  w.u16(4 + ecs.length);
  w.u16(ECS_OPTION);
  w.u16(ecs.length);
  w.bytes(ecs.subarray(0, 3));
  w.u8(zoned ? ecs[2]! : 0);
  w.bytes(ecs.subarray(4));
  return 1;
}

/** EDNS Client Subnet option code (RFC 7871 section 6). */
const ECS_OPTION = 8;

/** Bytes the OPT record takes in a response to this query. */
function optSize(edns: Edns | null): number {
  if (edns === null) return 0;
  return OPT_SIZE + (edns.clientSubnetOption === undefined ? 0 : 4 + edns.clientSubnetOption.length);
}
