import { describe, expect, it } from "vitest";
import { QType } from "../../src/dns/constants.js";
import { fqdn } from "../../src/dns/name.js";
import { expectReply, type QueryCase, WEIGHT_FIXTURES, zoneHarness } from "../support/zone-harness.js";

const h = zoneHarness({ paths: [WEIGHT_FIXTURES] });

const srv = (service: string, weight: number, host: string) =>
  `_http._tcp.${service}.rollout.svc.cluster.local. 5 IN SRV 0 ${weight} 8080 ${host}.${service}.rollout.svc.cluster.local.`;
const a = (service: string, address: string) => `${service}.rollout.svc.cluster.local. 5 IN A ${address}`;
const host = (service: string, address: string) =>
  `${address.replaceAll(".", "-")}.${service}.rollout.svc.cluster.local. 5 IN A ${address}`;

const cases: QueryCase[] = [
  {
    // stable 90% over weights 300 and 100: 67.5% and 22.5%; canary 10% over three pods: 3.33% each. Scaled so
    // that 67.5% is 65535: 21845 and 3236. Stable's share of the total is 87380 / 97088 = 90.0%.
    says: "a 90/10 split gives each group its percent whatever its number of pods, per-pod weights dividing it",
    qname: "_http._tcp.checkout.rollout.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      srv("checkout", 65535, "10-244-6-1"),
      srv("checkout", 21845, "10-244-6-2"),
      srv("checkout", 3236, "10-244-6-3"),
      srv("checkout", 3236, "10-244-6-4"),
      srv("checkout", 3236, "10-244-6-5"),
    ],
    additional: ["10.244.6.1", "10.244.6.2", "10.244.6.3", "10.244.6.4", "10.244.6.5"].map((ip) =>
      host("checkout", ip),
    ),
  },
  {
    says: "pods whose label matches no listed value, or who lack it, are left out of the Service's addresses",
    qname: "checkout.rollout.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["10.244.6.1", "10.244.6.2", "10.244.6.3", "10.244.6.4", "10.244.6.5"].map((ip) =>
      a("checkout", ip),
    ),
  },
  {
    says: "a pod left out by the split still answers at its own name",
    qname: "10-244-6-6.checkout.rollout.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: [host("checkout", "10.244.6.6")],
  },
  {
    says: "a group at 0 percent is left out of SRV while another group has endpoints",
    qname: "_http._tcp.search.rollout.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [srv("search", 65535, "10-244-6-11"), srv("search", 65535, "10-244-6-12")],
    additional: [host("search", "10.244.6.11"), host("search", "10.244.6.12")],
  },
  {
    says: "a group at 0 percent is left out of A while another group has endpoints",
    qname: "search.rollout.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: [a("search", "10.244.6.11"), a("search", "10.244.6.12")],
  },
  {
    says: "a group at 0 percent serves when no group above 0 has a ready endpoint",
    qname: "_http._tcp.cutover.rollout.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [srv("cutover", 65535, "10-244-6-22"), srv("cutover", 65535, "10-244-6-23")],
    additional: [host("cutover", "10.244.6.22"), host("cutover", "10.244.6.23")],
  },
  {
    says: "a split whose values no pod carries cannot apply, and the per-pod weights stand",
    qname: "_http._tcp.beta.rollout.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [srv("beta", 65535, "10-244-6-31"), srv("beta", 32768, "10-244-6-32")],
    additional: [host("beta", "10.244.6.31"), host("beta", "10.244.6.32")],
  },
  {
    says: "an annotation without the colon after the label key is ignored and equal weights apply",
    qname: "_http._tcp.typo.rollout.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [srv("typo", 65535, "10-244-6-41"), srv("typo", 65535, "10-244-6-42")],
    additional: [host("typo", "10.244.6.41"), host("typo", "10.244.6.42")],
  },
  {
    says: "an annotation with a percent over 100 is ignored and equal weights apply",
    qname: "_http._tcp.overflow.rollout.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [srv("overflow", 65535, "10-244-6-51"), srv("overflow", 65535, "10-244-6-52")],
    additional: [host("overflow", "10.244.6.51"), host("overflow", "10.244.6.52")],
  },
];

describe("traffic splits", () => {
  it.each(cases)("$says", (row) => expectReply(h, row));

  it("weigh the A answer's per-query order by the same shares as SRV", () => {
    const set = h.store.current.nodes.get(fqdn("checkout.rollout.svc.cluster.local."))?.get(QType.A);
    const byAddress = new Map(
      set!.records.map((rr, i) => [(rr as { address: string }).address, set!.weights![i]!]),
    );
    const expected = new Map([
      ["10.244.6.1", 0.675],
      ["10.244.6.2", 0.225],
      ["10.244.6.3", 0.1 / 3],
      ["10.244.6.4", 0.1 / 3],
      ["10.244.6.5", 0.1 / 3],
    ]);
    expect([...byAddress.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [address, weight] of expected) expect(byAddress.get(address)).toBeCloseTo(weight, 12);
  });
});

describe("traffic-split annotations that do not parse", () => {
  const about = (warnings: readonly string[], service: string) =>
    warnings.filter((w) => w.includes(`service rollout/${service}:`) && w.includes("podns.io/traffic-split"));

  it.each([
    { service: "typo", reason: 'got "version stable=90, canary=10"' },
    { service: "overflow", reason: "150 is over 100 percent" },
  ])(
    "raise exactly one warning for $service, saying why and that equal weights apply",
    ({ service, reason }) => {
      const warned = about(h.warnings, service);
      expect(warned).toHaveLength(1);
      expect(warned[0]).toContain(reason);
      expect(warned[0]).toContain("equal weights apply");
    },
  );

  it("are not warned about again when a reload finds the Services unchanged", () => {
    const again = zoneHarness({ paths: [WEIGHT_FIXTURES] });
    again.reload();
    expect(about(again.warnings, "typo")).toHaveLength(1);
    expect(about(again.warnings, "overflow")).toHaveLength(1);
  });

  it("leave valid splits unwarned", () => {
    for (const service of ["checkout", "search", "cutover", "beta"])
      expect(about(h.warnings, service)).toEqual([]);
  });
});
