/**
 * Negative answers (RFC 2308, RFC 8020), names outside the served zones, and the SERVFAIL podns gives before its
 * sources have synced: resolvers cache NXDOMAIN for minutes, so podns must never say it from incomplete data.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CLUSTER_FIXTURES, expectReply, type QueryCase, zoneHarness } from "../support/zone-harness.js";

/** TTL = min(SOA TTL 30, MINIMUM 5) = 5 (RFC 2308 section 3). */
const NEGATIVE = [
  "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2025061801 7200 1800 86400 5",
];
/** TTL = min(SOA TTL 10, MINIMUM 60) = 10. */
const NEGATIVE_REVERSE = [
  "10.in-addr.arpa. 10 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2025061801 7200 1800 86400 60",
];

/** The manifests without any zone file. */
const MANIFESTS = readdirSync(CLUSTER_FIXTURES)
  .filter((name) => name.endsWith(".yaml"))
  .map((name) => path.join(CLUSTER_FIXTURES, name));

const nameErrors: QueryCase[] = [
  {
    says: "a Service that does not exist is NXDOMAIN with the SOA, its TTL the lesser of SOA TTL and MINIMUM",
    qname: "wishlist.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "a missing name is NXDOMAIN whatever its letter case",
    qname: "WishList.Shop.SVC.cluster.LOCAL",
    qtype: "A",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "a namespace without Services does not exist",
    qname: "billing.svc.cluster.local.",
    qtype: "A",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "a name below a per-pod name does not exist",
    qname: "www.10-244-1-15.storefront.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "a name below the apex that nothing defines does not exist",
    qname: "pod.cluster.local.",
    qtype: "A",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "an address without a PTR record in a served reverse zone is NXDOMAIN with the reverse zone's SOA",
    qname: "99.9.244.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "NXDOMAIN",
    authority: NEGATIVE_REVERSE,
  },
];

const noData: QueryCase[] = [
  {
    says: "a Service name asked for a type it lacks is NODATA with the SOA",
    qname: "storefront.shop.svc.cluster.local.",
    qtype: "MX",
    rcode: "NOERROR",
    authority: NEGATIVE,
  },
  {
    says: "an IPv4-only Service asked for AAAA is NODATA",
    qname: "storefront.shop.svc.cluster.local.",
    qtype: "AAAA",
    rcode: "NOERROR",
    authority: NEGATIVE,
  },
  {
    says: "a per-pod name asked for a type it lacks is NODATA",
    qname: "postgres-0.postgres.shop.svc.cluster.local.",
    qtype: "AAAA",
    rcode: "NOERROR",
    authority: NEGATIVE,
  },
  {
    says: "the empty non-terminal svc.<zone> is NODATA, not NXDOMAIN",
    qname: "svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    authority: NEGATIVE,
  },
  {
    says: "the empty non-terminal <ns>.svc.<zone> is NODATA",
    qname: "shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    authority: NEGATIVE,
  },
  {
    says: "the empty non-terminal _<proto>.<svc> is NODATA",
    qname: "_tcp.storefront.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    authority: NEGATIVE,
  },
  {
    says: "the apex asked for a type it lacks is NODATA",
    qname: "cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    authority: NEGATIVE,
  },
  {
    says: "dns-version asked for another type is NODATA",
    qname: "dns-version.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    authority: NEGATIVE,
  },
  {
    says: "an empty non-terminal of a reverse zone is NODATA with the reverse zone's SOA",
    qname: "1.244.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    authority: NEGATIVE_REVERSE,
  },
];

const refused: QueryCase[] = [
  {
    says: "a name outside every served zone is REFUSED without AA",
    qname: "www.example.com.",
    qtype: "A",
    rcode: "REFUSED",
    aa: false,
  },
  {
    says: "the parent of a served zone is REFUSED",
    qname: "local.",
    qtype: "SOA",
    rcode: "REFUSED",
    aa: false,
  },
  {
    says: "a name that only ends in the zone's text is REFUSED",
    qname: "shop.svc.cluster.local.example.org.",
    qtype: "A",
    rcode: "REFUSED",
    aa: false,
  },
  {
    says: "an address outside the served reverse zones is REFUSED",
    qname: "1.0.0.127.in-addr.arpa.",
    qtype: "PTR",
    rcode: "REFUSED",
    aa: false,
  },
];

describe("with every source synced", () => {
  const h = zoneHarness();
  describe("a name that does not exist", () => {
    it.each(nameErrors)("$says", (row) => expectReply(h, row));
  });
  describe("a name that exists without the type", () => {
    it.each(noData)("$says", (row) => expectReply(h, row));
  });
  describe("a name outside the zones", () => {
    it.each(refused)("$says", (row) => expectReply(h, row));
  });
});

const beforeSync: QueryCase[] = [
  {
    says: "a missing name is SERVFAIL, never NXDOMAIN",
    qname: "wishlist.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "SERVFAIL",
    aa: false,
  },
  {
    says: "a name without the type is SERVFAIL, never NODATA",
    qname: "storefront.shop.svc.cluster.local.",
    qtype: "MX",
    rcode: "SERVFAIL",
    aa: false,
  },
  {
    says: "an empty non-terminal is SERVFAIL",
    qname: "shop.svc.cluster.local.",
    qtype: "A",
    rcode: "SERVFAIL",
    aa: false,
  },
  {
    says: "a missing PTR record is SERVFAIL",
    qname: "99.9.244.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "SERVFAIL",
    aa: false,
  },
  {
    says: "a zone file's record still answers",
    qname: "ns.dns.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["ns.dns.cluster.local. 60 IN A 10.96.0.10"],
  },
  {
    says: "a zone file's record on a Service name still answers",
    qname: "storefront.shop.svc.cluster.local.",
    qtype: "TXT",
    rcode: "NOERROR",
    answer: ['storefront.shop.svc.cluster.local. 30 IN TXT "owner=team-storefront"'],
  },
  {
    says: "a synthesised name is SERVFAIL even when its own source has synced, as the catalog may still be partial",
    qname: "storefront.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "SERVFAIL",
    aa: false,
  },
  {
    says: "the apex SOA answers",
    qname: "cluster.local.",
    qtype: "SOA",
    rcode: "NOERROR",
    answer: [
      "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2025061801 7200 1800 86400 5",
    ],
  },
  {
    says: "a name outside the zones is still REFUSED",
    qname: "www.example.com.",
    qtype: "A",
    rcode: "REFUSED",
    aa: false,
  },
];

describe("before a registered source has synced", () => {
  const h = zoneHarness({ unsynced: ["kubernetes"] });
  it.each(beforeSync)("$says", (row) => expectReply(h, row));

  it("serves the synthesised records, NXDOMAIN and a higher serial once the last source syncs", () => {
    const late = zoneHarness({ unsynced: ["kubernetes"] });
    const serial = late.store.soaSerial;
    late.sync("kubernetes");
    expect(late.store.soaSerial).toBe(serial + 1);
    expectReply(late, {
      qname: "storefront.shop.svc.cluster.local.",
      qtype: "A",
      rcode: "NOERROR",
      answer: [
        "storefront.shop.svc.cluster.local. 5 IN A 10.244.1.15",
        "storefront.shop.svc.cluster.local. 5 IN A 10.244.2.23",
      ],
    });
    expectReply(late, {
      qname: "wishlist.shop.svc.cluster.local.",
      qtype: "A",
      rcode: "NXDOMAIN",
      authority: [
        "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2025061802 7200 1800 86400 5",
      ],
    });
  });
});

const withoutReverseZones: QueryCase[] = [
  {
    says: "an endpoint's address is REFUSED when no reverse zone is served",
    qname: "15.1.244.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "REFUSED",
    aa: false,
  },
  {
    says: "a cluster IP is REFUSED when no reverse zone is served",
    qname: "10.12.96.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "REFUSED",
    aa: false,
  },
  {
    says: "forward names answer as before",
    qname: "storefront.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: [
      "storefront.shop.svc.cluster.local. 5 IN A 10.244.1.15",
      "storefront.shop.svc.cluster.local. 5 IN A 10.244.2.23",
    ],
  },
];

describe("without reverse zone files", () => {
  const h = zoneHarness({ paths: [CLUSTER_FIXTURES] });
  it.each(withoutReverseZones)("$says", (row) => expectReply(h, row));
});

/** Serial: the store's clock (1750248000) plus one change, as no zone file sets one. */
const SYNTHESISED = [
  "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1750248001 7200 1800 86400 5",
];

const withoutZoneFiles: QueryCase[] = [
  {
    says: "the SOA is synthesised as ns.dns and hostmaster under the zone, MINIMUM the record TTL",
    qname: "cluster.local.",
    qtype: "SOA",
    rcode: "NOERROR",
    answer: SYNTHESISED,
  },
  {
    says: "the NS is synthesised as the SOA's ns.dns",
    qname: "cluster.local.",
    qtype: "NS",
    rcode: "NOERROR",
    answer: ["cluster.local. 5 IN NS ns.dns.cluster.local."],
  },
  {
    says: "a missing name is NXDOMAIN with the synthesised SOA",
    qname: "wishlist.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NXDOMAIN",
    authority: SYNTHESISED,
  },
  {
    says: "a reverse zone named as a zone, without a file, serves PTR records",
    qname: "15.1.244.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    answer: ["15.1.244.10.in-addr.arpa. 5 IN PTR 10-244-1-15.storefront.shop.svc.cluster.local."],
  },
];

describe("without zone files", () => {
  const h = zoneHarness({ paths: MANIFESTS, zones: ["cluster.local.", "10.in-addr.arpa."] });
  it.each(withoutZoneFiles)("$says", (row) => expectReply(h, row));
});
