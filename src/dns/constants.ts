/**
 * IANA DNS parameters used by podns, as `as const` tables with reverse maps for logs and metrics.
 * Source: IANA "Domain Name System (DNS) Parameters" registry; RFC 1035 section 3.2, RFC 6891, RFC 8482.
 */

export const QType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  CAA: 257,
} as const;
export type QTypeName = keyof typeof QType;

export const QClass = { IN: 1, CH: 3, NONE: 254, ANY: 255 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended rcode 16 (RFC 6891 section 9): upper 8 bits travel in the OPT TTL field. */
  BADVERS: 16,
} as const;
export type RcodeValue = (typeof Rcode)[keyof typeof Rcode];

export const Opcode = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

/** Header flag bits in the second 16-bit word (RFC 1035 section 4.1.1). */
export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

/** Largest UDP payload podns sends with EDNS (DNS Flag Day 2020 recommendation; RFC 9715). */
export const MAX_EDNS_UDP_PAYLOAD = 1232;
/** UDP payload limit without EDNS (RFC 1035 section 4.2.1). */
export const CLASSIC_UDP_PAYLOAD = 512;

const typeNames = new Map<number, string>(Object.entries(QType).map(([k, v]) => [v, k]));
const rcodeNames = new Map<number, string>(Object.entries(Rcode).map(([k, v]) => [v, k]));

/** Mnemonic for a type number, or the RFC 3597 generic form `TYPEn`. */
export function typeName(type: number): string {
  return typeNames.get(type) ?? `TYPE${type}`;
}

/** Type number for a mnemonic or `TYPEn`; undefined when unknown. */
export function typeFromName(name: string): number | undefined {
  const upper = name.toUpperCase();
  const known = (QType as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  if (m) {
    const n = Number(m[1]);
    if (n <= 0xffff) return n;
  }
  return undefined;
}

export function rcodeName(rcode: number): string {
  return rcodeNames.get(rcode) ?? `RCODE${rcode}`;
}
