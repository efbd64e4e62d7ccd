import { describe, expect, it } from "vitest";
import { QClass, QType } from "../../src/dns/constants.js";
import { fqdn } from "../../src/dns/name.js";
import { formatRr } from "../../src/dns/presentation.js";
import { toNode, toPod } from "../../src/k8s/convert.js";
import { lookup } from "../../src/zone/lookup.js";
import {
  expectReply,
  type QueryCase,
  WEIGHT_FIXTURES,
  type ZoneHarness,
  zoneHarness,
} from "../support/zone-harness.js";

const h = zoneHarness({ paths: [WEIGHT_FIXTURES] });

const srv = (service: string, priority: number, host: string) =>
  `_http._tcp.${service}.geo.svc.cluster.local. 5 IN SRV ${priority} 65535 8080 ${host}.${service}.geo.svc.cluster.local.`;
const host = (service: string, address: string) =>
  `${address.replaceAll(".", "-")}.${service}.geo.svc.cluster.local. 5 IN A ${address}`;
const hosts = (service: string, ...addresses: string[]) => addresses.map((ip) => host(service, ip));

const ZONAL_HOSTS = ["10.244.1.11", "10.244.1.12", "10.244.2.21", "10.244.2.22"];
/** Each zonal pod also has an AAAA record at its per-pod name (the slices are merged by pod). */
const ZONAL_ADDITIONAL = [
  ...hosts("zonal", ...ZONAL_HOSTS),
  "10-244-1-11.zonal.geo.svc.cluster.local. 5 IN AAAA fd00:10:244:1::11",
  "10-244-1-12.zonal.geo.svc.cluster.local. 5 IN AAAA fd00:10:244:1::12",
  "10-244-2-21.zonal.geo.svc.cluster.local. 5 IN AAAA fd00:10:244:2::21",
  "10-244-2-22.zonal.geo.svc.cluster.local. 5 IN AAAA fd00:10:244:2::22",
];
const zonalSrv = (a: number, b: number): QueryCase["answer"] => [
  srv("zonal", a, "10-244-1-11"),
  srv("zonal", a, "10-244-1-12"),
  srv("zonal", b, "10-244-2-21"),
  srv("zonal", b, "10-244-2-22"),
];

const cases: QueryCase[] = [
  {
    says: "a PreferClose Service gives a zone-a querier priority 0 for zone-a endpoints and 1 for the others",
    zone: "zone-a",
    qname: "_http._tcp.zonal.geo.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: zonalSrv(0, 1),
    additional: ZONAL_ADDITIONAL,
  },
  {
    says: "a PreferClose Service gives a zone-b querier priority 0 for zone-b endpoints and 1 for the others",
    zone: "zone-b",
    qname: "_http._tcp.zonal.geo.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: zonalSrv(1, 0),
    additional: ZONAL_ADDITIONAL,
  },
  {
    says: "a querier in a zone with no endpoint of the Service gets one priority",
    zone: "zone-c",
    qname: "_http._tcp.zonal.geo.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: zonalSrv(0, 0),
    additional: ZONAL_ADDITIONAL,
  },
  {
    says: "a querier of unknown zone gets one priority",
    qname: "_http._tcp.zonal.geo.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: zonalSrv(0, 0),
    additional: ZONAL_ADDITIONAL,
  },
  {
    says: "the topology-mode Auto annotation asks for the preference, and hints.forZones decide what serves zone-b",
    zone: "zone-b",
    qname: "_http._tcp.hinted.geo.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      srv("hinted", 1, "10-244-1-31"),
      srv("hinted", 1, "10-244-1-32"),
      srv("hinted", 0, "10-244-1-33"),
      srv("hinted", 0, "10-244-2-34"),
    ],
    additional: hosts("hinted", "10.244.1.31", "10.244.1.32", "10.244.1.33", "10.244.2.34"),
  },
  {
    says: "an endpoint in zone-a hinted for zone-b does not serve zone-a",
    zone: "zone-a",
    qname: "_http._tcp.hinted.geo.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      srv("hinted", 0, "10-244-1-31"),
      srv("hinted", 0, "10-244-1-32"),
      srv("hinted", 1, "10-244-1-33"),
      srv("hinted", 1, "10-244-2-34"),
    ],
    additional: hosts("hinted", "10.244.1.31", "10.244.1.32", "10.244.1.33", "10.244.2.34"),
  },
  {
    says: "a Service that asks for no preference gets none without --prefer-same-zone",
    zone: "zone-a",
    qname: "_http._tcp.plain.geo.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [srv("plain", 0, "10-244-1-41"), srv("plain", 0, "10-244-2-42")],
    additional: hosts("plain", "10.244.1.41", "10.244.2.42"),
  },
  {
    says: "a querier whose zone has only not-ready endpoints gets one priority",
    zone: "zone-b",
    qname: "_http._tcp.lopsided.geo.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [srv("lopsided", 0, "10-244-1-51"), srv("lopsided", 0, "10-244-1-52")],
    additional: hosts("lopsided", "10.244.1.51", "10.244.1.52"),
  },
];

describe("SRV priorities by the querier's zone", () => {
  it.each(cases)("$says", (row) => expectReply(h, row));
});

describe("SRV priorities under --prefer-same-zone", () => {
  const all = zoneHarness({ paths: [WEIGHT_FIXTURES], preferSameZone: true });
  it.each([
    {
      says: "a Service that asks for no preference gets one for a zone-a querier",
      zone: "zone-a",
      answer: [srv("plain", 0, "10-244-1-41"), srv("plain", 1, "10-244-2-42")],
    },
    {
      says: "a Service that asks for no preference gets one for a zone-b querier",
      zone: "zone-b",
      answer: [srv("plain", 1, "10-244-1-41"), srv("plain", 0, "10-244-2-42")],
    },
    {
      says: "a querier of unknown zone still gets one priority",
      zone: undefined,
      answer: [srv("plain", 0, "10-244-1-41"), srv("plain", 0, "10-244-2-42")],
    },
  ])("$says", ({ zone, answer }) =>
    expectReply(all, {
      zone,
      qname: "_http._tcp.plain.geo.svc.cluster.local.",
      qtype: "SRV",
      rcode: "NOERROR",
      answer,
      additional: hosts("plain", "10.244.1.41", "10.244.2.42"),
    }),
  );
});

/** The answer's records in the order lookup gives them, and how many lead as same-zone. */
function ordered(harness: ZoneHarness, qname: string, qtype: number, zone?: string) {
  const outcome = lookup(harness.store.current, fqdn(qname), qtype, QClass.IN, zone);
  const set = outcome.answer[0]!;
  return { records: set.records.map((rr) => formatRr(rr).split(" ").pop()), preferred: set.preferred ?? 0 };
}

describe("A and AAAA answers by the querier's zone", () => {
  it.each([
    {
      says: "A lists zone-a's endpoints first for a zone-a querier",
      type: QType.A,
      zone: "zone-a",
      first: ["10.244.1.11", "10.244.1.12"],
      rest: ["10.244.2.21", "10.244.2.22"],
    },
    {
      says: "A lists zone-b's endpoints first for a zone-b querier",
      type: QType.A,
      zone: "zone-b",
      first: ["10.244.2.21", "10.244.2.22"],
      rest: ["10.244.1.11", "10.244.1.12"],
    },
    {
      says: "AAAA lists zone-a's endpoints first for a zone-a querier",
      type: QType.AAAA,
      zone: "zone-a",
      first: ["fd00:10:244:1::11", "fd00:10:244:1::12"],
      rest: ["fd00:10:244:2::21", "fd00:10:244:2::22"],
    },
    {
      says: "AAAA lists zone-b's endpoints first for a zone-b querier",
      type: QType.AAAA,
      zone: "zone-b",
      first: ["fd00:10:244:2::21", "fd00:10:244:2::22"],
      rest: ["fd00:10:244:1::11", "fd00:10:244:1::12"],
    },
  ])("$says, marked as preferred so that shuffling keeps them first", ({ type, zone, first, rest }) => {
    const got = ordered(h, "zonal.geo.svc.cluster.local.", type, zone);
    expect(got.preferred).toBe(first.length);
    expect(got.records.slice(0, first.length).sort()).toEqual(first);
    expect(got.records.slice(first.length).sort()).toEqual(rest);
  });

  it.each([
    { says: "a querier of unknown zone", zone: undefined },
    { says: "a querier in a zone with no endpoint", zone: "zone-c" },
  ])("prefer no address for $says", ({ zone }) => {
    expect(ordered(h, "zonal.geo.svc.cluster.local.", QType.A, zone).preferred).toBe(0);
  });

  it("prefer no address of a Service that asks for no preference", () => {
    expect(ordered(h, "plain.geo.svc.cluster.local.", QType.A, "zone-a").preferred).toBe(0);
  });
});

describe("the querier's zone from its address", () => {
  it.each([
    { says: "a pod's IPv4 address is in its node's zone", address: "127.0.0.21", zone: "zone-a" },
    {
      says: "a pod's second address (IPv6) is in its node's zone too",
      address: "fd00:20::22",
      zone: "zone-b",
    },
    { says: "a pod on a node without a zone label has no zone", address: "127.0.0.24", zone: undefined },
    { says: "an address that is no pod's has no zone", address: "127.0.0.1", zone: undefined },
  ])("$says", ({ address, zone }) => {
    expect(h.catalog.zoneOfAddress(address)).toBe(zone);
  });

  it("follows a node's zone label when it changes, and forgets it when the node goes", () => {
    const moved = zoneHarness({ paths: [WEIGHT_FIXTURES] });
    const node = (zone?: string) => ({
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: "node-a1",
        labels: zone === undefined ? {} : { "topology.kubernetes.io/zone": zone },
      },
    });
    moved.catalog.setNode(toNode(node("zone-b"))!);
    expect(moved.catalog.zoneOfAddress("127.0.0.21")).toBe("zone-b");
    moved.catalog.setNode(toNode(node())!);
    expect(moved.catalog.zoneOfAddress("127.0.0.21")).toBeUndefined();
    moved.catalog.setNode(toNode(node("zone-a"))!);
    expect(moved.catalog.zoneOfAddress("127.0.0.21")).toBe("zone-a");
    moved.catalog.deleteNode("node-a1");
    expect(moved.catalog.zoneOfAddress("127.0.0.21")).toBeUndefined();
  });

  it("follows a pod to its new address and forgets the old one", () => {
    const moved = zoneHarness({ paths: [WEIGHT_FIXTURES] });
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "probe-a", namespace: "clients" },
      spec: { nodeName: "node-a1" },
      status: { podIP: "127.0.0.31", podIPs: [{ ip: "127.0.0.31" }] },
    };
    moved.catalog.setPod(toPod(pod, () => {})!);
    expect(moved.catalog.zoneOfAddress("127.0.0.31")).toBe("zone-a");
    expect(moved.catalog.zoneOfAddress("127.0.0.21")).toBeUndefined();
    moved.catalog.deletePod("clients", "probe-a");
    expect(moved.catalog.zoneOfAddress("127.0.0.31")).toBeUndefined();
  });
});
