/**
 * Per-pod SRV weights from the `podns.io/weight` annotation: relative weights scaled so that the largest of an RRset
 * is 65535 (RFC 2782 weights are 16-bit), invalid annotations ignored with one warning.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_WEIGHT, encodeSrvWeights, parseWeightAnnotation } from "../../src/discovery/weights.js";
import { toSlice } from "../../src/k8s/convert.js";
import { expectReply, zoneHarness } from "../support/zone-harness.js";

const h = zoneHarness();

describe("SRV weights of the recommender pods", () => {
  it("scale the annotations so the largest is 65535, invalid and missing ones counting as 100", () => {
    expectReply(h, {
      qname: "_http._tcp.recommender.shop.svc.cluster.local.",
      qtype: "SRV",
      rcode: "NOERROR",
      answer: [
        "_http._tcp.recommender.shop.svc.cluster.local. 5 IN SRV 0 65535 8080 10-244-1-101.recommender.shop.svc.cluster.local.",
        "_http._tcp.recommender.shop.svc.cluster.local. 5 IN SRV 0 26214 8080 10-244-2-102.recommender.shop.svc.cluster.local.",
        "_http._tcp.recommender.shop.svc.cluster.local. 5 IN SRV 0 26214 8080 10-244-3-103.recommender.shop.svc.cluster.local.",
        "_http._tcp.recommender.shop.svc.cluster.local. 5 IN SRV 0 26214 8080 10-244-1-104.recommender.shop.svc.cluster.local.",
        "_http._tcp.recommender.shop.svc.cluster.local. 5 IN SRV 0 26214 8080 10-244-2-105.recommender.shop.svc.cluster.local.",
        "_http._tcp.recommender.shop.svc.cluster.local. 5 IN SRV 0 26214 8080 10-244-3-106.recommender.shop.svc.cluster.local.",
        "_http._tcp.recommender.shop.svc.cluster.local. 5 IN SRV 0 0 8080 10-244-1-107.recommender.shop.svc.cluster.local.",
      ],
      additional: [
        "10-244-1-101.recommender.shop.svc.cluster.local. 5 IN A 10.244.1.101",
        "10-244-2-102.recommender.shop.svc.cluster.local. 5 IN A 10.244.2.102",
        "10-244-3-103.recommender.shop.svc.cluster.local. 5 IN A 10.244.3.103",
        "10-244-1-104.recommender.shop.svc.cluster.local. 5 IN A 10.244.1.104",
        "10-244-2-105.recommender.shop.svc.cluster.local. 5 IN A 10.244.2.105",
        "10-244-3-106.recommender.shop.svc.cluster.local. 5 IN A 10.244.3.106",
        "10-244-1-107.recommender.shop.svc.cluster.local. 5 IN A 10.244.1.107",
      ],
    });
  });

  it("ignore the weight of a pod that is not published", () => {
    // storefront-7d9c5b6f4-q4wvn weighs 500 but is not ready: 300 stays the largest weight.
    expectReply(h, {
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
    });
  });
});

describe("invalid weight annotations", () => {
  it.each([
    { value: "abc", pod: "recommender-6b8f7c9d5-c3pzt" },
    { value: "-1", pod: "recommender-6b8f7c9d5-fj6wn" },
    { value: "70000", pod: "recommender-6b8f7c9d5-l8rbh" },
    { value: "1.5", pod: "recommender-6b8f7c9d5-q2ysg" },
  ])("an annotation of $value raises exactly one warning naming the pod and the value", ({ value, pod }) => {
    const about = h.warnings.filter((w) => w.includes(`shop/${pod}`));
    expect(about).toHaveLength(1);
    expect(about[0]).toContain(JSON.stringify(value));
  });

  it("are the only warnings: valid and missing annotations raise none", () => {
    expect(h.warnings).toHaveLength(4);
  });

  it("are not warned about again when a reload finds the pods unchanged", () => {
    const again = zoneHarness();
    again.reload();
    expect(again.warnings).toHaveLength(4);
  });
});

describe("the pod an endpoint names, whose annotation weighs it", () => {
  const slice = (targetRef: object) => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: "reports-manual",
      namespace: "shop",
      labels: { "kubernetes.io/service-name": "reports" },
    },
    addressType: "IPv4",
    endpoints: [{ addresses: ["10.244.1.120"], conditions: { ready: true }, targetRef }],
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  });
  it.each([
    {
      says: "is in the targetRef's namespace",
      targetRef: { kind: "Pod", namespace: "batch", name: "reports-0" },
      pod: "batch/reports-0",
    },
    {
      says: "is in the slice's namespace when the targetRef has none",
      targetRef: { kind: "Pod", name: "reports-0" },
      pod: "shop/reports-0",
    },
    {
      says: "is none when the targetRef is not a Pod",
      targetRef: { kind: "Node", name: "worker-a" },
      pod: undefined,
    },
  ])("$says", ({ targetRef, pod }) => {
    expect(toSlice(slice(targetRef))?.endpoints[0]?.pod).toBe(pod);
  });
});

describe("encodeSrvWeights", () => {
  it.each([
    { says: "a lone endpoint gets the top weight", weights: [100], encoded: [65535] },
    {
      says: "equal weights all get the top weight",
      weights: [100, 100, 100],
      encoded: [65535, 65535, 65535],
    },
    {
      says: "the largest weight becomes 65535 and the rest keep their ratio",
      weights: [300, 100],
      encoded: [65535, 21845],
    },
    { says: "a 90/10 split keeps HAProxy's 1/256 precision", weights: [90, 10], encoded: [65535, 7282] },
    { says: "a positive weight never rounds down to 0", weights: [1, 65535 * 4], encoded: [1, 65535] },
    { says: "a zero weight stays 0", weights: [0, 100], encoded: [0, 65535] },
    { says: "all-zero weights stay all zero", weights: [0, 0], encoded: [0, 0] },
    { says: "no endpoints give no weights", weights: [], encoded: [] },
    {
      says: "weights already at the 16-bit limit are kept",
      weights: [65535, 32768],
      encoded: [65535, 32768],
    },
  ])("$says", ({ weights, encoded }) => {
    expect(encodeSrvWeights(weights)).toEqual(encoded);
  });
});

describe("parseWeightAnnotation", () => {
  it.each([
    { says: "a decimal integer is the weight", value: "250", weight: 250 },
    { says: "zero is a valid weight", value: "0", weight: 0 },
    { says: "65535 is the largest valid weight", value: "65535", weight: 65535 },
    { says: "surrounding spaces make it invalid", value: " 42 ", weight: undefined },
    {
      says: "a number that is not a string (an unquoted YAML value) is invalid",
      value: 42,
      weight: undefined,
    },
    { says: "leading zeros are read as decimal", value: "010", weight: 10 },
    { says: "65536 is out of range", value: "65536", weight: undefined },
    { says: "70000 is out of range", value: "70000", weight: undefined },
    { says: "a negative number is invalid", value: "-1", weight: undefined },
    { says: "a fraction is invalid", value: "1.5", weight: undefined },
    { says: "a word is invalid", value: "abc", weight: undefined },
    { says: "an empty string is invalid", value: "", weight: undefined },
    { says: "a plus sign is invalid", value: "+5", weight: undefined },
    { says: "exponent notation is invalid", value: "1e3", weight: undefined },
    { says: "hexadecimal is invalid", value: "0x10", weight: undefined },
    { says: "non-ASCII digits are invalid", value: "١٠٠", weight: undefined },
    { says: "a missing annotation has no weight", value: undefined, weight: undefined },
  ])("$says", ({ value, weight }) => {
    expect(parseWeightAnnotation(value)).toBe(weight);
  });

  it("leaves the default weight at 100", () => {
    expect(DEFAULT_WEIGHT).toBe(100);
  });
});
