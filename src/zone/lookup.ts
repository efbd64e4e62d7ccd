/**
 * Answers a question from a Snapshot (RFC 1034 section 4.3.2, with RFC 2308 negative answers and RFC 8482 for ANY).
 * The result names RRsets by reference; the response writer encodes them once.
 */
import { QClass, QType, Rcode } from "../dns/constants.js";
import type { Fqdn } from "../dns/name.js";
import type { RrSet, SoaRecord } from "../dns/records.js";
import type { Sections } from "../dns/response.js";
import type { NameNode, Snapshot, Zone } from "./snapshot.js";

/** What a lookup decided: rcode, AA, and RRsets by reference for each section; `dns/response.ts` encodes it. */
export type Outcome = Sections;

const NONE: readonly RrSet[] = [];
const REFUSED: Outcome = refusal(Rcode.REFUSED);
const SERVFAIL: Outcome = refusal(Rcode.SERVFAIL);
/** RFC 1034 section 3.6.2 leaves chain length open; eight links is what common servers follow. */
const MAX_CNAME_CHAIN = 8;

function refusal(rcode: number): Outcome {
  return { rcode, authoritative: false, answer: NONE, authority: NONE, additional: NONE };
}

/**
 * Answers one question. `clientZone` is the querier's topology zone when known: RRsets with zone variants answer
 * with the variant for that zone.
 */
export function lookup(
  snap: Snapshot,
  qname: Fqdn,
  qtype: number,
  qclass: number,
  clientZone?: string,
): Outcome {
  if (qclass !== QClass.IN && qclass !== QClass.ANY) return REFUSED;
  const zone = snap.zoneOf(qname);
  if (zone === undefined) return REFUSED;
  if (qtype === QType.AXFR || qtype === QType.IXFR) return REFUSED;
  const node = snap.nodes.get(qname);
  if (node === undefined) return snap.synced ? answerNxdomain(zone) : SERVFAIL;
  const cname = node.get(QType.CNAME);
  if (cname !== undefined && qtype !== QType.CNAME) return answerAlias(snap, cname, qtype);
  if (qtype === QType.ANY) return answerAny(node, zone, snap.synced);
  const stored = node.get(qtype);
  if (stored === undefined) return snap.synced ? answerNoData(zone) : SERVFAIL;
  const set = (clientZone !== undefined ? stored.byZone?.get(clientZone) : undefined) ?? stored;
  return {
    zoned: stored.byZone !== undefined,
    rcode: Rcode.NOERROR,
    authoritative: true,
    answer: [set],
    authority: NONE,
    additional: additionalFor(snap, set),
  };
}

/** RFC 2308 section 3: the SOA in the authority section, its TTL the lesser of its own TTL and MINIMUM. */
function negativeSoa(zone: Zone): RrSet {
  const soa: SoaRecord = zone.soa.ttl <= zone.soa.minimum ? zone.soa : { ...zone.soa, ttl: zone.soa.minimum };
  return { name: zone.apex, type: QType.SOA, records: [soa] };
}

/** The name does not exist: NXDOMAIN with the zone's SOA (RFC 2308 section 2.1). */
function answerNxdomain(zone: Zone): Outcome {
  return {
    rcode: Rcode.NXDOMAIN,
    authoritative: true,
    answer: NONE,
    authority: [negativeSoa(zone)],
    additional: NONE,
  };
}

/** The name exists without the type, or is an empty non-terminal: NOERROR, no answer, SOA (RFC 2308 section 2.2). */
function answerNoData(zone: Zone): Outcome {
  return {
    rcode: Rcode.NOERROR,
    authoritative: true,
    answer: NONE,
    authority: [negativeSoa(zone)],
    additional: NONE,
  };
}

/** RFC 8482 section 4.2: answer ANY with one RRset of the name rather than all of them. */
function answerAny(node: NameNode, zone: Zone, synced: boolean): Outcome {
  const first = node.first();
  if (first === undefined) return synced ? answerNoData(zone) : SERVFAIL;
  return {
    rcode: Rcode.NOERROR,
    authoritative: true,
    answer: [first],
    authority: NONE,
    additional: NONE,
  };
}

/**
 * The name is an alias: the CNAME, followed within the snapshot while the target is ours (RFC 1034 section 4.3.2
 * step 3a). A target outside our zones is left to the resolver. A chain ending at a name of ours that does not
 * exist, or lacks the type, is NXDOMAIN or NODATA with that zone's SOA (RFC 2308 sections 2.1 and 2.2).
 */
function answerAlias(snap: Snapshot, first: RrSet, qtype: number): Outcome {
  const answer: RrSet[] = [first];
  let set = first;
  let rcode: number = Rcode.NOERROR;
  let authority: readonly RrSet[] = NONE;
  for (let i = 0; i < MAX_CNAME_CHAIN; i++) {
    const target = (set.records[0] as { target: Fqdn }).target;
    const zone = snap.zoneOf(target);
    if (zone === undefined) break;
    const node = snap.nodes.get(target);
    if (node === undefined) {
      if (snap.synced) {
        rcode = Rcode.NXDOMAIN;
        authority = [negativeSoa(zone)];
      }
      break;
    }
    const next = node.get(QType.CNAME) ?? node.get(qtype);
    if (next === undefined && snap.synced && qtype !== QType.ANY) authority = [negativeSoa(zone)];
    if (next === undefined || answer.includes(next)) break;
    answer.push(next);
    if (next.type !== QType.CNAME) break;
    set = next;
  }
  return { rcode, authoritative: true, answer, authority, additional: NONE };
}

/** Addresses of SRV, MX and NS targets held in the snapshot (RFC 2782 "Usage rules"; RFC 1035 section 3.3.9). */
function additionalFor(snap: Snapshot, set: RrSet): readonly RrSet[] {
  if (set.type !== QType.SRV && set.type !== QType.MX && set.type !== QType.NS) return NONE;
  const out: RrSet[] = [];
  for (const rr of set.records) {
    const target = (rr as { target?: Fqdn; exchange?: Fqdn }).target ?? (rr as { exchange: Fqdn }).exchange;
    const node = snap.nodes.get(target);
    if (node === undefined) continue;
    const a = node.get(QType.A);
    const aaaa = node.get(QType.AAAA);
    if (a !== undefined) out.push(a);
    if (aaaa !== undefined) out.push(aaaa);
  }
  return out;
}

/** Names that tell a server's identity and version in class CH (RFC 4892; BIND's `version.bind`). */
const IDENTITY_NAMES = new Set(["id.server.", "hostname.bind."]);
const VERSION_NAMES = new Set(["version.server.", "version.bind."]);

/**
 * A question in class CH: the server's identity and version when the operator set `--identity`, else REFUSED, so
 * that nothing about the server is told by default.
 */
export function answerChaos(
  qname: Fqdn,
  qtype: number,
  identity: string | undefined,
  version: string,
): Outcome {
  if (identity === undefined || (qtype !== QType.TXT && qtype !== QType.ANY)) return REFUSED;
  const text = IDENTITY_NAMES.has(qname)
    ? identity
    : VERSION_NAMES.has(qname)
      ? `podns ${version}`
      : undefined;
  if (text === undefined) return REFUSED;
  const rr = { name: qname, ttl: 0, class: QClass.CH, type: QType.TXT, strings: [text] } as const;
  return {
    rcode: Rcode.NOERROR,
    authoritative: true,
    answer: [{ name: qname, type: QType.TXT, records: [rr] }],
    authority: NONE,
    additional: NONE,
  };
}
