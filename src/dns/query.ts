/**
 * Decoding of DNS queries (RFC 1035 section 4.1, RFC 6891 section 6). The decoder accepts exactly what an
 * authoritative server should answer and classifies everything else as a drop or an error rcode, without throwing.
 * It allocates one string (the lowercased qname) per query.
 */
import { canonicalIpv6 } from "./address.js";
import { Flag, Opcode, QType, Rcode } from "./constants.js";
import type { Fqdn } from "./name.js";

/** EDNS parameters from the query's OPT record (RFC 6891 section 6.1.3). */
export interface Edns {
  /** Requester's UDP payload size in bytes; values below 512 are treated as 512 (RFC 6891 section 6.2.3). */
  readonly udpSize: number;
  readonly version: number;
  /** DNSSEC OK bit (RFC 3225), echoed in the response. */
  readonly dnssecOk: boolean;
  /** EDNS Client Subnet (RFC 7871) source address when present and well formed. */
  readonly clientSubnet: string | undefined;
  /** The ECS option's data as received (family, prefix lengths, address), echoed in the response (RFC 7871 7.2.1). */
  readonly clientSubnetOption: Uint8Array | undefined;
}

/** A query that can be answered. Offsets point into the original message. */
export interface Query {
  readonly id: number;
  /** The second header word as received (opcode, RD, CD and the rest). */
  readonly flags: number;
  /** The qname lowercased, as an absolute name; labels with bytes outside `[!-~]` or a dot are `\DDD`-escaped. */
  readonly qname: Fqdn;
  readonly qtype: number;
  readonly qclass: number;
  /** End offset of the question section: the response echoes bytes 12..questionEnd. */
  readonly questionEnd: number;
  readonly edns: Edns | null;
}

export type Decoded =
  | { readonly kind: "query"; readonly query: Query }
  /** Not answered: too short for a header, or a response (QR=1), which would risk a reflection loop. */
  | { readonly kind: "drop" }
  /** Answered with this rcode and no records; the question is echoed when `questionEnd` > 12. */
  | {
      readonly kind: "error";
      readonly id: number;
      readonly flags: number;
      readonly rcode: number;
      readonly questionEnd: number;
      /** The question's qtype when it was read (`questionEnd` > 12), else 0. */
      readonly qtype: number;
      readonly edns: Edns | null;
    };

const DROP: Decoded = { kind: "drop" };
const HEADER = 12;

function error(msg: Uint8Array, rcode: number, questionEnd = HEADER, edns: Edns | null = null): Decoded {
  return {
    kind: "error",
    id: (msg[0]! << 8) | msg[1]!,
    flags: (msg[2]! << 8) | msg[3]!,
    rcode,
    questionEnd,
    qtype: questionEnd > HEADER ? (msg[questionEnd - 4]! << 8) | msg[questionEnd - 3]! : 0,
    edns,
  };
}

/** Decodes a query. Never throws; malformed input yields FORMERR or a drop. */
export function decodeQuery(msg: Uint8Array): Decoded {
  if (msg.length < HEADER) return DROP;
  const flags = (msg[2]! << 8) | msg[3]!;
  if (flags & Flag.QR) return DROP;
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== Opcode.QUERY) return error(msg, Rcode.NOTIMP);
  const qdcount = (msg[4]! << 8) | msg[5]!;
  const ancount = (msg[6]! << 8) | msg[7]!;
  const nscount = (msg[8]! << 8) | msg[9]!;
  const arcount = (msg[10]! << 8) | msg[11]!;
  // RFC 9619: a query carries exactly one question; answers in a query are malformed.
  if (qdcount !== 1 || ancount !== 0) return error(msg, Rcode.FORMERR);
  const nameEnd = scanQname(msg, HEADER);
  if (nameEnd < 0 || nameEnd + 4 > msg.length) return error(msg, Rcode.FORMERR);
  const qtype = (msg[nameEnd]! << 8) | msg[nameEnd + 1]!;
  const qclass = (msg[nameEnd + 2]! << 8) | msg[nameEnd + 3]!;
  const questionEnd = nameEnd + 4;
  // An IXFR query carries the requester's SOA in the authority section (RFC 1995 section 3); podns offers no zone
  // transfer, so it is refused whole. Any other query with authority records is malformed.
  if (qtype === QType.IXFR) return error(msg, Rcode.REFUSED, questionEnd);
  if (nscount !== 0) return error(msg, Rcode.FORMERR);
  const additional = decodeAdditional(msg, questionEnd, arcount);
  if (additional === null) return error(msg, Rcode.FORMERR, questionEnd);
  if (additional !== NO_EDNS && additional.version !== 0) {
    return error(msg, Rcode.BADVERS, questionEnd, additional);
  }
  const edns = additional === NO_EDNS ? null : additional;
  const qname = qnameKey(msg, HEADER, nameEnd);
  return {
    kind: "query",
    query: { id: (msg[0]! << 8) | msg[1]!, flags, qname, qtype, qclass, questionEnd, edns },
  };
}

/**
 * Validates an uncompressed name starting at `offset` and returns the offset just past it, or -1. A question name
 * has nothing earlier to point to, so a compression pointer there is malformed; so are labels over 63 octets
 * (RFC 1035 section 2.3.4; the 0x40 and 0x80 label types are not in use, RFC 6891 section 5) and names over 255.
 */
function scanQname(msg: Uint8Array, offset: number): number {
  let pos = offset;
  while (pos < msg.length) {
    const len = msg[pos]!;
    if (len === 0) return pos + 1 - offset > 255 ? -1 : pos + 1;
    if (len > 63) return -1;
    pos += len + 1;
    if (pos - offset > 255) return -1;
  }
  return -1;
}

/**
 * Skips a possibly compressed name in a record of the additional section. Pointers must point backwards, which
 * also bounds the walk and rules out loops. Returns the offset after the name's in-place bytes, or -1.
 */
function skipName(msg: Uint8Array, offset: number): number {
  let pos = offset;
  while (pos < msg.length) {
    const len = msg[pos]!;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) return -1;
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!;
      return target < pos ? pos + 2 : -1;
    }
    if (len > 63) return -1;
    pos += len + 1;
  }
  return -1;
}

const NO_EDNS: Edns = {
  udpSize: 0,
  version: 0,
  dnssecOk: false,
  clientSubnet: undefined,
  clientSubnetOption: undefined,
};

/** Reads the additional section: at most one OPT, owned by the root (RFC 6891 section 6.1.1). Null means FORMERR. */
function decodeAdditional(msg: Uint8Array, offset: number, count: number): Edns | null {
  let pos = offset;
  let edns: Edns = NO_EDNS;
  for (let i = 0; i < count; i++) {
    const ownerStart = pos;
    pos = skipName(msg, pos);
    if (pos < 0 || pos + 10 > msg.length) return null;
    const type = (msg[pos]! << 8) | msg[pos + 1]!;
    const rdlength = (msg[pos + 8]! << 8) | msg[pos + 9]!;
    const rdata = pos + 10;
    if (rdata + rdlength > msg.length) return null;
    if (type === QType.OPT) {
      if (edns !== NO_EDNS || msg[ownerStart] !== 0) return null;
      const parsed = decodeOpt(msg, pos, rdata, rdlength);
      if (parsed === null) return null;
      edns = parsed;
    }
    pos = rdata + rdlength;
  }
  return pos === msg.length ? edns : null;
}

function decodeOpt(msg: Uint8Array, pos: number, rdata: number, rdlength: number): Edns | null {
  const udpSize = Math.max(512, (msg[pos + 2]! << 8) | msg[pos + 3]!);
  const version = msg[pos + 5]!;
  const dnssecOk = (msg[pos + 6]! & 0x80) !== 0;
  let clientSubnet: string | undefined;
  let clientSubnetOption: Uint8Array | undefined;
  let opt = rdata;
  const end = rdata + rdlength;
  while (opt < end) {
    if (opt + 4 > end) return null;
    const code = (msg[opt]! << 8) | msg[opt + 1]!;
    const len = (msg[opt + 2]! << 8) | msg[opt + 3]!;
    if (opt + 4 + len > end) return null;
    if (code === 8) {
      const subnet = decodeClientSubnet(msg, opt + 4, len);
      if (subnet === null || clientSubnet !== undefined) return null;
      clientSubnet = subnet;
      clientSubnetOption = msg.subarray(opt + 4, opt + 4 + len);
    }
    opt += 4 + len;
  }
  return { udpSize, version, dnssecOk, clientSubnet, clientSubnetOption };
}

/**
 * RFC 7871 section 6: FAMILY, SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH, ADDRESS cut to the prefix. Returns the
 * address, or null when the option is malformed (an unknown family, a prefix longer than the address, a SCOPE in a
 * query, address bytes that do not match the prefix, or bits set past it), which section 7.1.1 answers with FORMERR.
 */
function decodeClientSubnet(msg: Uint8Array, start: number, len: number): string | null {
  if (len < 4) return null;
  const family = (msg[start]! << 8) | msg[start + 1]!;
  const prefix = msg[start + 2]!;
  const scope = msg[start + 3]!;
  const addr = msg.subarray(start + 4, start + len);
  const bits = family === 1 ? 32 : family === 2 ? 128 : 0;
  if (bits === 0 || prefix > bits || scope !== 0 || addr.length !== Math.ceil(prefix / 8)) return null;
  if (prefix % 8 !== 0 && (addr[addr.length - 1]! & (0xff >> (prefix % 8))) !== 0) return null;
  if (family === 1) return [0, 1, 2, 3].map((i) => addr[i] ?? 0).join(".");
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push((((addr[i] ?? 0) << 8) | (addr[i + 1] ?? 0)).toString(16));
  return canonicalIpv6(parts.join(":"));
}

/** Scratch space for building qname keys: a name is at most 255 octets (RFC 1035 section 2.3.4). */
const scratch = Buffer.allocUnsafe(256);

/**
 * The lookup key of a validated qname: lowercased (RFC 4343), labels joined with dots, trailing dot. Bytes that
 * cannot stand in a presentation-form label unescaped become `\DDD`, so such a name never equals a stored name by
 * accident. The common case (printable ASCII) is copied into a scratch buffer and decoded once.
 */
function qnameKey(msg: Uint8Array, start: number, end: number): Fqdn {
  if (end - start === 1) return "." as Fqdn;
  let pos = start;
  let o = 0;
  for (let len = msg[pos]!; len !== 0; len = msg[pos]!) {
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = msg[i]!;
      if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) return escapedKey(msg, start);
      scratch[o++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    scratch[o++] = 0x2e;
    pos += len + 1;
  }
  return scratch.toString("latin1", 0, o) as Fqdn;
}

function escapedKey(msg: Uint8Array, start: number): Fqdn {
  let out = "";
  let pos = start;
  while (msg[pos] !== 0) {
    const len = msg[pos]!;
    for (let i = pos + 1; i <= pos + len; i++) {
      let c = msg[i]!;
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) out += String.fromCharCode(c);
      else out += `\\${c.toString().padStart(3, "0")}`;
    }
    out += ".";
    pos += len + 1;
  }
  return out as Fqdn;
}
