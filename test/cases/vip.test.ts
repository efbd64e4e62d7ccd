/**
 * The "vip" cluster-IP mode (`--cluster-ip vip`), which answers as the specification writes it: a ClusterIP Service
 * answers with its cluster IPs and its SRV records point at the Service; headless Services still answer per endpoint.
 */
import { describe, it } from "vitest";
import { expectReply, type QueryCase, zoneHarness } from "../support/zone-harness.js";

const NEGATIVE = [
  "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2025061801 7200 1800 86400 5",
];
const NEGATIVE_REVERSE = [
  "10.in-addr.arpa. 10 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2025061801 7200 1800 86400 60",
];

const vip: QueryCase[] = [
  {
    says: "a ClusterIP Service with ready endpoints answers with its cluster IP",
    qname: "storefront.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["storefront.shop.svc.cluster.local. 5 IN A 10.96.12.10"],
  },
  {
    says: "a dual-stack ClusterIP Service answers A with its IPv4 cluster IP",
    qname: "inventory.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["inventory.shop.svc.cluster.local. 5 IN A 10.96.12.50"],
  },
  {
    says: "a dual-stack ClusterIP Service answers AAAA with its IPv6 cluster IP",
    qname: "inventory.shop.svc.cluster.local.",
    qtype: "AAAA",
    rcode: "NOERROR",
    answer: ["inventory.shop.svc.cluster.local. 5 IN AAAA fd00:10:96::c32"],
  },
  {
    says: "a Service with a selector whose pods were listed in two slices answers with its cluster IP",
    qname: "catalog.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["catalog.shop.svc.cluster.local. 5 IN A 10.96.12.60"],
  },
  {
    says: "a ClusterIP Service has no per-pod names",
    qname: "10-244-1-15.storefront.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "a ClusterIP Service's SRV record points at the Service name with the Service port",
    qname: "_http._tcp.storefront.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      "_http._tcp.storefront.shop.svc.cluster.local. 5 IN SRV 0 65535 80 storefront.shop.svc.cluster.local.",
    ],
    additional: ["storefront.shop.svc.cluster.local. 5 IN A 10.96.12.10"],
  },
  {
    says: "a dual-stack ClusterIP Service's SRV record has both cluster IPs as glue",
    qname: "_grpc._tcp.inventory.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      "_grpc._tcp.inventory.shop.svc.cluster.local. 5 IN SRV 0 65535 9000 inventory.shop.svc.cluster.local.",
    ],
    additional: [
      "inventory.shop.svc.cluster.local. 5 IN A 10.96.12.50",
      "inventory.shop.svc.cluster.local. 5 IN AAAA fd00:10:96::c32",
    ],
  },
  {
    says: "a ClusterIP Service's SRV record merges with the zone file's",
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
    says: "an unnamed port still has no SRV record",
    qname: "admin.shop.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    authority: NEGATIVE,
  },
  {
    says: "a headless Service still answers with its ready endpoints",
    qname: "postgres.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: [
      "postgres.shop.svc.cluster.local. 5 IN A 10.244.1.40",
      "postgres.shop.svc.cluster.local. 5 IN A 10.244.2.41",
    ],
  },
  {
    says: "a headless Service's pods keep their per-pod names",
    qname: "postgres-0.postgres.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["postgres-0.postgres.shop.svc.cluster.local. 5 IN A 10.244.1.40"],
  },
  {
    says: "a headless Service's SRV records still point at its pods",
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
    says: "a headless Service with publishNotReadyAddresses still answers with endpoints that are not ready",
    qname: "etcd.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: [
      "etcd.shop.svc.cluster.local. 5 IN A 10.244.1.60",
      "etcd.shop.svc.cluster.local. 5 IN A 10.244.2.61",
    ],
  },
  {
    says: "a headless Service with no ready endpoint still does not exist",
    qname: "kafka.shop.svc.cluster.local.",
    qtype: "A",
    rcode: "NXDOMAIN",
    authority: NEGATIVE,
  },
  {
    says: "an ExternalName Service is still a CNAME",
    qname: "payments.shop.svc.cluster.local.",
    qtype: "CNAME",
    rcode: "NOERROR",
    answer: ["payments.shop.svc.cluster.local. 5 IN CNAME api.payments.example.com."],
  },
  {
    says: "a cluster IP points back at its Service",
    qname: "10.12.96.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    answer: ["10.12.96.10.in-addr.arpa. 5 IN PTR storefront.shop.svc.cluster.local."],
  },
  {
    says: "an IPv6 cluster IP points back at its Service",
    qname: "2.3.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    answer: [
      "2.3.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa. 5 IN PTR inventory.shop.svc.cluster.local.",
    ],
  },
  {
    says: "a ClusterIP Service's endpoint addresses have no PTR records",
    qname: "15.1.244.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "NXDOMAIN",
    authority: NEGATIVE_REVERSE,
  },
  {
    says: "a headless Service's endpoint addresses point back at their per-pod names",
    qname: "40.1.244.10.in-addr.arpa.",
    qtype: "PTR",
    rcode: "NOERROR",
    answer: ["40.1.244.10.in-addr.arpa. 5 IN PTR postgres-0.postgres.shop.svc.cluster.local."],
  },
];

describe("vip mode", () => {
  const h = zoneHarness({ clusterIp: "vip" });
  it.each(vip)("$says", (row) => expectReply(h, row));
});
