/**
 * What podns answers for the fixture cluster (test/fixtures/cluster) in the default "endpoints" mode, after the
 * Kubernetes DNS-based service discovery specification 1.1.0 with podns's per-pod weights.
 */
import { describe, it } from "vitest";
import { expectReply, type QueryCase, zoneHarness } from "../support/zone-harness.js";

const h = zoneHarness();

/** RFC 2308 section 3: the SOA of the negative answer, TTL = min(SOA TTL 30, MINIMUM 5). */
const NEGATIVE = [
  "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2025061801 7200 1800 86400 5",
];
/** The reverse zone's SOA TTL (10) is below its MINIMUM (60): negative answers carry 10. */
const NEGATIVE_REVERSE = [
  "10.in-addr.arpa. 10 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2025061801 7200 1800 86400 60",
];

const serviceNames: QueryCase[] = [
  {
    says: "a ClusterIP Service with a selector answers with its ready endpoints, unset readiness counting as ready",
    qname: "storefront.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: [
      "storefront.shop.svc.cluster.local. 5 IN A 10.244.1.15",
      "storefront.shop.svc.cluster.local. 5 IN A 10.244.2.23",
    ],
  },
  {
    says: "names match whatever their letter case",
    qname: "StoreFront.SHOP.svc.Cluster.Local",
    qtype: "A",
    rcode: "NOERROR",
    answer: [
      "storefront.shop.svc.cluster.local. 5 IN A 10.244.1.15",
      "storefront.shop.svc.cluster.local. 5 IN A 10.244.2.23",
    ],
  },
  {
    says: "a ClusterIP Service with no ready endpoint answers with its cluster IP",
    qname: "checkout.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["checkout.shop.svc.cluster.local. 5 IN A 10.96.12.20"],
  },
  {
    says: "a ClusterIP Service without a selector answers with its cluster IP",
    qname: "cart.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["cart.shop.svc.cluster.local. 5 IN A 10.96.12.30"],
  },
  {
    says: "a headless Service answers with its ready endpoints",
    qname: "postgres.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: [
      "postgres.shop.svc.cluster.local. 5 IN A 10.244.1.40",
      "postgres.shop.svc.cluster.local. 5 IN A 10.244.2.41",
    ],
  },
  {
    says: "a headless Service with no ready endpoint does not exist",
    qname: "kafka.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "a headless Service with publishNotReadyAddresses answers with endpoints that are not ready",
    qname: "etcd.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: [
      "etcd.shop.svc.cluster.local. 5 IN A 10.244.1.60",
      "etcd.shop.svc.cluster.local. 5 IN A 10.244.2.61",
    ],
  },
  {
    says: "a dual-stack Service answers A with its endpoints' IPv4 addresses",
    qname: "inventory.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: [
      "inventory.shop.svc.cluster.local. 5 IN A 10.244.1.70",
      "inventory.shop.svc.cluster.local. 5 IN A 10.244.2.71",
    ],
  },
  {
    says: "a dual-stack Service answers AAAA with its endpoints' IPv6 addresses",
    qname: "inventory.shop.svc.cluster.local.",
    qtype: "AAAA",
    rcode: "NOERROR",
    answer: [
      "inventory.shop.svc.cluster.local. 5 IN AAAA fd00:10:244:1::46",
      "inventory.shop.svc.cluster.local. 5 IN AAAA fd00:10:244:2::47",
    ],
  },
  {
    says: "an IPv6-only headless Service answers AAAA in RFC 5952 form",
    qname: "cache.shop.svc.cluster.local.",
    qtype: "AAAA",
    rcode: "NOERROR",
    answer: [
      "cache.shop.svc.cluster.local. 5 IN AAAA fd00:10:244:1::1a",
      "cache.shop.svc.cluster.local. 5 IN AAAA fd00:10:244:3::7",
    ],
  },
  {
    says: "an IPv6-only Service has no A records",
    qname: "cache.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    authority: NEGATIVE,
  },
  {
    says: "a pod listed in two EndpointSlices is published once",
    qname: "catalog.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: [
      "catalog.shop.svc.cluster.local. 5 IN A 10.244.1.80",
      "catalog.shop.svc.cluster.local. 5 IN A 10.244.2.81",
      "catalog.shop.svc.cluster.local. 5 IN A 10.244.3.82",
    ],
  },
  {
    says: "an address listed in two hand-written EndpointSlices is published once",
    qname: "legacy-erp.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: [
      "legacy-erp.shop.svc.cluster.local. 5 IN A 10.20.0.5",
      "legacy-erp.shop.svc.cluster.local. 5 IN A 10.20.0.6",
    ],
  },
];

const endpointNames: QueryCase[] = [
  {
    says: "a ready endpoint without a hostname is named after its dashed IPv4 address",
    qname: "10-244-1-15.storefront.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["10-244-1-15.storefront.shop.svc.cluster.local. 5 IN A 10.244.1.15"],
  },
  {
    says: "an endpoint whose readiness is unset has a per-pod name",
    qname: "10-244-2-23.storefront.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["10-244-2-23.storefront.shop.svc.cluster.local. 5 IN A 10.244.2.23"],
  },
  {
    says: "an endpoint that is not ready has no per-pod name",
    qname: "10-244-3-31.storefront.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "a ClusterIP Service answering with its cluster IP has no per-pod names",
    qname: "10-244-1-21.checkout.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "an endpoint with a hostname is named after it",
    qname: "postgres-0.postgres.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["postgres-0.postgres.shop.svc.cluster.local. 5 IN A 10.244.1.40"],
  },
  {
    says: "an endpoint with a hostname has no dashed-address name",
    qname: "10-244-1-40.postgres.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "a StatefulSet pod that is not ready has no per-pod name",
    qname: "postgres-2.postgres.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "a not-ready pod of a Service with publishNotReadyAddresses has a per-pod name",
    qname: "etcd-1.etcd.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["etcd-1.etcd.shop.svc.cluster.local. 5 IN A 10.244.2.61"],
  },
  {
    says: "a dual-stack pod's one per-pod name has its IPv4 address",
    qname: "10-244-1-70.inventory.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["10-244-1-70.inventory.shop.svc.cluster.local. 5 IN A 10.244.1.70"],
  },
  {
    says: "a dual-stack pod's one per-pod name has its IPv6 address too",
    qname: "10-244-1-70.inventory.shop.svc.cluster.local.",
    qtype: "AAAA",
    rcode: "NOERROR",
    answer: ["10-244-1-70.inventory.shop.svc.cluster.local. 5 IN AAAA fd00:10:244:1::46"],
  },
  {
    says: "a dual-stack pod has no second per-pod name from its IPv6 address",
    qname: "fd00-10-244-1--46.inventory.shop.svc.cluster.local.",
    qtype: "AAAA",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "an IPv6 endpoint is named after its RFC 5952 address with dashes",
    qname: "fd00-10-244-1--1a.cache.shop.svc.cluster.local.",
    qtype: "AAAA",
    rcode: "NOERROR",
    answer: ["fd00-10-244-1--1a.cache.shop.svc.cluster.local. 5 IN AAAA fd00:10:244:1::1a"],
  },
  {
    says: "an IPv6 endpoint's per-pod name has no A record",
    qname: "fd00-10-244-3--7.cache.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    authority: NEGATIVE,
  },
  {
    says: "a pod listed in two EndpointSlices has one address at its per-pod name",
    qname: "10-244-2-81.catalog.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["10-244-2-81.catalog.shop.svc.cluster.local. 5 IN A 10.244.2.81"],
  },
  {
    says: "an address listed in two EndpointSlices has one record at its per-endpoint name",
    qname: "10-20-0-6.legacy-erp.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["10-20-0-6.legacy-erp.shop.svc.cluster.local. 5 IN A 10.20.0.6"],
  },
];

const srv: QueryCase[] = [
  {
    says: "a named port has one SRV record per ready endpoint, weighted, with the EndpointSlice port and glue",
    qname: "_http._tcp.storefront.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      "_http._tcp.storefront.shop.svc.cluster.local. 5 IN SRV 0 65535 8080 10-244-1-15.storefront.shop.svc.cluster.local.",
      "_http._tcp.storefront.shop.svc.cluster.local. 5 IN SRV 0 21845 8080 10-244-2-23.storefront.shop.svc.cluster.local.",
    ],
    additional: [
      "10-244-1-15.storefront.shop.svc.cluster.local. 5 IN A 10.244.1.15",
      "10-244-2-23.storefront.shop.svc.cluster.local. 5 IN A 10.244.2.23",
    ],
  },
  {
    says: "every named port of a Service has its own SRV RRset",
    qname: "_metrics._tcp.storefront.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      "_metrics._tcp.storefront.shop.svc.cluster.local. 5 IN SRV 0 65535 9090 10-244-1-15.storefront.shop.svc.cluster.local.",
      "_metrics._tcp.storefront.shop.svc.cluster.local. 5 IN SRV 0 21845 9090 10-244-2-23.storefront.shop.svc.cluster.local.",
    ],
    additional: [
      "10-244-1-15.storefront.shop.svc.cluster.local. 5 IN A 10.244.1.15",
      "10-244-2-23.storefront.shop.svc.cluster.local. 5 IN A 10.244.2.23",
    ],
  },
  {
    says: "a headless Service's SRV records point at its pods' hostnames",
    qname: "_postgres._tcp.postgres.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      "_postgres._tcp.postgres.shop.svc.cluster.local. 5 IN SRV 0 65535 5432 postgres-0.postgres.shop.svc.cluster.local.",
      "_postgres._tcp.postgres.shop.svc.cluster.local. 5 IN SRV 0 65535 5432 postgres-1.postgres.shop.svc.cluster.local.",
    ],
    additional: [
      "postgres-0.postgres.shop.svc.cluster.local. 5 IN A 10.244.1.40",
      "postgres-1.postgres.shop.svc.cluster.local. 5 IN A 10.244.2.41",
    ],
  },
  {
    says: "a Service with publishNotReadyAddresses has SRV records for endpoints that are not ready",
    qname: "_peer._tcp.etcd.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      "_peer._tcp.etcd.shop.svc.cluster.local. 5 IN SRV 0 65535 2380 etcd-0.etcd.shop.svc.cluster.local.",
      "_peer._tcp.etcd.shop.svc.cluster.local. 5 IN SRV 0 65535 2380 etcd-1.etcd.shop.svc.cluster.local.",
    ],
    additional: [
      "etcd-0.etcd.shop.svc.cluster.local. 5 IN A 10.244.1.60",
      "etcd-1.etcd.shop.svc.cluster.local. 5 IN A 10.244.2.61",
    ],
  },
  {
    says: "a dual-stack pod has one SRV record, with both its addresses as glue",
    qname: "_grpc._tcp.inventory.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      "_grpc._tcp.inventory.shop.svc.cluster.local. 5 IN SRV 0 65535 50051 10-244-1-70.inventory.shop.svc.cluster.local.",
      "_grpc._tcp.inventory.shop.svc.cluster.local. 5 IN SRV 0 65535 50051 10-244-2-71.inventory.shop.svc.cluster.local.",
    ],
    additional: [
      "10-244-1-70.inventory.shop.svc.cluster.local. 5 IN A 10.244.1.70",
      "10-244-1-70.inventory.shop.svc.cluster.local. 5 IN AAAA fd00:10:244:1::46",
      "10-244-2-71.inventory.shop.svc.cluster.local. 5 IN A 10.244.2.71",
      "10-244-2-71.inventory.shop.svc.cluster.local. 5 IN AAAA fd00:10:244:2::47",
    ],
  },
  {
    says: "an IPv6 endpoint's SRV record has AAAA glue",
    qname: "_memcache._tcp.cache.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      "_memcache._tcp.cache.shop.svc.cluster.local. 5 IN SRV 0 65535 11211 fd00-10-244-1--1a.cache.shop.svc.cluster.local.",
      "_memcache._tcp.cache.shop.svc.cluster.local. 5 IN SRV 0 65535 11211 fd00-10-244-3--7.cache.shop.svc.cluster.local.",
    ],
    additional: [
      "fd00-10-244-1--1a.cache.shop.svc.cluster.local. 5 IN AAAA fd00:10:244:1::1a",
      "fd00-10-244-3--7.cache.shop.svc.cluster.local. 5 IN AAAA fd00:10:244:3::7",
    ],
  },
  {
    says: "a pod listed in two EndpointSlices has one SRV record",
    qname: "_http._tcp.catalog.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      "_http._tcp.catalog.shop.svc.cluster.local. 5 IN SRV 0 65535 8080 10-244-1-80.catalog.shop.svc.cluster.local.",
      "_http._tcp.catalog.shop.svc.cluster.local. 5 IN SRV 0 65535 8080 10-244-2-81.catalog.shop.svc.cluster.local.",
      "_http._tcp.catalog.shop.svc.cluster.local. 5 IN SRV 0 65535 8080 10-244-3-82.catalog.shop.svc.cluster.local.",
    ],
    additional: [
      "10-244-1-80.catalog.shop.svc.cluster.local. 5 IN A 10.244.1.80",
      "10-244-2-81.catalog.shop.svc.cluster.local. 5 IN A 10.244.2.81",
      "10-244-3-82.catalog.shop.svc.cluster.local. 5 IN A 10.244.3.82",
    ],
  },
  {
    says: "an address listed in two EndpointSlices has one SRV record",
    qname: "_soap._tcp.legacy-erp.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      "_soap._tcp.legacy-erp.shop.svc.cluster.local. 5 IN SRV 0 65535 8000 10-20-0-5.legacy-erp.shop.svc.cluster.local.",
      "_soap._tcp.legacy-erp.shop.svc.cluster.local. 5 IN SRV 0 65535 8000 10-20-0-6.legacy-erp.shop.svc.cluster.local.",
    ],
    additional: [
      "10-20-0-5.legacy-erp.shop.svc.cluster.local. 5 IN A 10.20.0.5",
      "10-20-0-6.legacy-erp.shop.svc.cluster.local. 5 IN A 10.20.0.6",
    ],
  },
  {
    says: "a Service answering with its cluster IP has SRV records at the Service name and port, merged with the zone file's",
    qname: "_https._tcp.checkout.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      "_https._tcp.checkout.shop.svc.cluster.local. 5 IN SRV 0 65535 443 checkout.shop.svc.cluster.local.",
      "_https._tcp.checkout.shop.svc.cluster.local. 5 IN SRV 10 0 443 checkout.dr.example.net.",
    ],
    additional: ["checkout.shop.svc.cluster.local. 5 IN A 10.96.12.20"],
  },
  {
    says: "a Service without a selector has SRV records at the Service name and port",
    qname: "_redis._tcp.cart.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: ["_redis._tcp.cart.shop.svc.cluster.local. 5 IN SRV 0 65535 6379 cart.shop.svc.cluster.local."],
    additional: ["cart.shop.svc.cluster.local. 5 IN A 10.96.12.30"],
  },
  {
    says: "an unnamed port has no SRV record",
    qname: "admin.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    authority: NEGATIVE,
  },
  {
    says: "an unnamed port makes no _tcp name",
    qname: "_tcp.admin.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "a port asked for with the wrong protocol does not exist",
    qname: "_http._udp.storefront.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "a headless Service with no ready endpoint has no SRV records",
    qname: "_broker._tcp.kafka.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
];

const ptr: QueryCase[] = [
  {
    says: "an endpoint's address points back at its per-pod name",
    qname: "15.1.244.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    answer: ["15.1.244.10.in-addr.arpa. 5 IN PTR 10-244-1-15.storefront.shop.svc.cluster.local."],
  },
  {
    says: "a cluster IP points back at its Service",
    qname: "10.12.96.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    answer: ["10.12.96.10.in-addr.arpa. 5 IN PTR storefront.shop.svc.cluster.local."],
  },
  {
    says: "the cluster IP of a Service answering with it points back at the Service",
    qname: "20.12.96.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    answer: ["20.12.96.10.in-addr.arpa. 5 IN PTR checkout.shop.svc.cluster.local."],
  },
  {
    says: "a StatefulSet pod's address points back at its hostname",
    qname: "40.1.244.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    answer: ["40.1.244.10.in-addr.arpa. 5 IN PTR postgres-0.postgres.shop.svc.cluster.local."],
  },
  {
    says: "a not-ready endpoint's address has no PTR record",
    qname: "31.3.244.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "NXDOMAIN",
    authority: NEGATIVE_REVERSE,
  },
  {
    says: "an address listed in two EndpointSlices has one PTR record",
    qname: "6.0.20.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    answer: ["6.0.20.10.in-addr.arpa. 5 IN PTR 10-20-0-6.legacy-erp.shop.svc.cluster.local."],
  },
  {
    says: "a dual-stack pod's IPv6 address points back at its one per-pod name",
    qname: "6.4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    answer: [
      "6.4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa. 5 IN PTR 10-244-1-70.inventory.shop.svc.cluster.local.",
    ],
  },
  {
    says: "a dual-stack Service's IPv6 cluster IP points back at the Service",
    qname: "2.3.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    answer: [
      "2.3.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa. 5 IN PTR inventory.shop.svc.cluster.local.",
    ],
  },
  {
    says: "an IPv6 endpoint's address points back at its dashed name",
    qname: "a.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    answer: [
      "a.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa. 5 IN PTR fd00-10-244-1--1a.cache.shop.svc.cluster.local.",
    ],
  },
  {
    says: "a reverse zone file's own PTR records are served beside the synthesised ones",
    qname: "10.0.96.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    answer: ["10.0.96.10.in-addr.arpa. 10 IN PTR ns.dns.cluster.local."],
  },
];

const externalName: QueryCase[] = [
  {
    says: "an ExternalName Service is a CNAME, and an address question gets only the CNAME when its target is elsewhere",
    qname: "payments.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["payments.shop.svc.cluster.local. 5 IN CNAME api.payments.example.com."],
  },
  {
    says: "an ExternalName Service answers a CNAME question with its CNAME",
    qname: "payments.shop.svc.cluster.local.",
    qtype: "CNAME",
    rcode: "NOERROR",
    answer: ["payments.shop.svc.cluster.local. 5 IN CNAME api.payments.example.com."],
  },
  {
    says: "an ExternalName Service's ports have no SRV records",
    qname: "_https._tcp.payments.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "an ExternalName Service pointing inside the zone is followed to the target's records",
    qname: "frontend.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    ordered: true,
    answer: [
      "frontend.shop.svc.cluster.local. 5 IN CNAME storefront.shop.svc.cluster.local.",
      "storefront.shop.svc.cluster.local. 5 IN A 10.244.1.15",
      "storefront.shop.svc.cluster.local. 5 IN A 10.244.2.23",
    ],
  },
  {
    says: "an ExternalName Service whose in-zone target lacks the type is NODATA after the CNAME, with the SOA",
    qname: "frontend.shop.svc.cluster.local.",
    qtype: "AAAA",
    rcode: "NOERROR",
    answer: ["frontend.shop.svc.cluster.local. 5 IN CNAME storefront.shop.svc.cluster.local."],
    authority: NEGATIVE,
  },
  {
    says: "an ExternalName Service whose in-zone target does not exist is NXDOMAIN after the CNAME, with the SOA",
    qname: "legacy-checkout.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NXDOMAIN",
    answer: ["legacy-checkout.shop.svc.cluster.local. 5 IN CNAME checkout-v1.shop.svc.cluster.local."],
    authority: NEGATIVE,
  },
];

const zoneData: QueryCase[] = [
  {
    says: "dns-version answers the specification version",
    qname: "dns-version.cluster.local.",
    qtype: "TXT",
    rcode: "NOERROR",
    answer: ['dns-version.cluster.local. 5 IN TXT "1.1.0"'],
  },
  {
    says: "the apex answers the zone file's SOA with the served serial",
    qname: "cluster.local.",
    qtype: "SOA",
    rcode: "NOERROR",
    answer: [
      "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2025061801 7200 1800 86400 5",
    ],
  },
  {
    says: "the apex answers NS with the name server's address as glue",
    qname: "cluster.local.",
    qtype: "NS",
    rcode: "NOERROR",
    answer: ["cluster.local. 30 IN NS ns.dns.cluster.local."],
    additional: ["ns.dns.cluster.local. 60 IN A 10.96.0.10"],
  },
  {
    says: "a reverse zone's apex answers its SOA",
    qname: "10.in-addr.arpa.",
    qtype: "SOA",
    rcode: "NOERROR",
    answer: [
      "10.in-addr.arpa. 10 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2025061801 7200 1800 86400 60",
    ],
  },
  {
    says: "a reverse zone has no dns-version name",
    qname: "dns-version.10.in-addr.arpa.",
    qtype: "TXT",
    rcode: "NXDOMAIN",
    authority: NEGATIVE_REVERSE,
  },
  {
    says: "a zone file's record on a Service name is served beside the synthesised ones",
    qname: "storefront.shop.svc.cluster.local.",
    qtype: "TXT",
    rcode: "NOERROR",
    answer: ['storefront.shop.svc.cluster.local. 30 IN TXT "owner=team-storefront"'],
  },
  {
    says: "a zone file's own names are served",
    qname: "ns.dns.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["ns.dns.cluster.local. 60 IN A 10.96.0.10"],
  },
];

describe("Service names in endpoints mode", () => {
  it.each(serviceNames)("$says", (row) => expectReply(h, row));
});

describe("per-endpoint names", () => {
  it.each(endpointNames)("$says", (row) => expectReply(h, row));
});

describe("SRV records", () => {
  it.each(srv)("$says", (row) => expectReply(h, row));
});

describe("PTR records in served reverse zones", () => {
  it.each(ptr)("$says", (row) => expectReply(h, row));
});

describe("ExternalName Services", () => {
  it.each(externalName)("$says", (row) => expectReply(h, row));
});

describe("zone apex, dns-version and zone-file records", () => {
  it.each(zoneData)("$says", (row) => expectReply(h, row));
});
