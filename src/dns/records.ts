/**
 * Resource records as podns holds them: structured RDATA, owner names as `Fqdn`, TTL in seconds. Records are
 * immutable once built; an RRset is every record of one owner name, class IN and type (RFC 2181 section 5).
 */

import type { QType } from "./constants.js";
import type { Fqdn } from "./name.js";

interface RrBase {
  readonly name: Fqdn;
  /** Seconds (RFC 1035 section 3.2.1); all records of one RRset share it (RFC 2181 section 5.2). */
  readonly ttl: number;
  /** CH for the server-identity names (RFC 4892); IN when absent. */
  readonly class?: number;
}

/** IPv4 address, dotted quad, and its 4 wire bytes. */
export interface ARecord extends RrBase {
  readonly type: typeof QType.A;
  readonly address: string;
}
/** IPv6 address in RFC 5952 form. */
export interface AaaaRecord extends RrBase {
  readonly type: typeof QType.AAAA;
  readonly address: string;
}
/** NS, CNAME and PTR carry one domain name (RFC 1035 section 3.3). */
export interface NameRecord extends RrBase {
  readonly type: typeof QType.NS | typeof QType.CNAME | typeof QType.PTR;
  readonly target: Fqdn;
}
/** RFC 2782: priority, weight and port are 16-bit; the target is never compressed. */
export interface SrvRecord extends RrBase {
  readonly type: typeof QType.SRV;
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: Fqdn;
}
/** RFC 1035 section 3.3.13; MINIMUM is the negative-caching TTL (RFC 2308 section 4). */
export interface SoaRecord extends RrBase {
  readonly type: typeof QType.SOA;
  readonly mname: Fqdn;
  readonly rname: Fqdn;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
}
export interface MxRecord extends RrBase {
  readonly type: typeof QType.MX;
  readonly preference: number;
  readonly exchange: Fqdn;
}
/** Character-strings of at most 255 bytes each (RFC 1035 section 3.3.14). */
export interface TxtRecord extends RrBase {
  readonly type: typeof QType.TXT;
  readonly strings: readonly string[];
}
export type Rr = ARecord | AaaaRecord | NameRecord | SrvRecord | SoaRecord | MxRecord | TxtRecord;

/** All records of one owner name and type, sharing one TTL. Never mutated after it is built. */
export interface RrSet {
  readonly name: Fqdn;
  readonly type: number;
  readonly records: readonly Rr[];
  /** Relative weights, parallel to `records`: A/AAAA answers are put in weighted random order per query. */
  readonly weights?: readonly number[];
  /** Records `[0, preferred)` serve the querier's topology zone: they come first, each group in weighted order. */
  readonly preferred?: number;
  /** The RRset as a querier in a given topology zone should see it (SRV priorities, A/AAAA order). */
  readonly byZone?: ReadonlyMap<string, RrSet>;
}

/** True when two lists hold the same RRsets, by identity or by content (zone variants included). */
export function sameSets(a: readonly RrSet[], b: readonly RrSet[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && JSON.stringify(a[i], mapsAsArrays) !== JSON.stringify(b[i], mapsAsArrays))
      return false;
  }
  return true;
}

function mapsAsArrays(_key: string, value: unknown): unknown {
  return value instanceof Map ? [...value] : value;
}
