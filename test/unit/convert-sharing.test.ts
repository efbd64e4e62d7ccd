/**
 * Conversion keeps per-pod memory small: pods with the same labels share one label object, and the names and keys
 * built per pod by join (flat strings; their size is measured by `npm run bench:memory`, not here) keep the values
 * concatenation gave.
 */
import { describe, expect, it } from "vitest";
import { flatName, reverseName } from "../../src/discovery/names.js";
import type { Fqdn } from "../../src/dns/name.js";
import { toPod, toSlice } from "../../src/k8s/convert.js";

const pod = (name: string, labels: Record<string, string>) => ({
  kind: "Pod",
  metadata: { name, namespace: "shop", labels },
  status: { podIP: "10.1.0.1" },
});

describe("conversion sharing", () => {
  it("gives pods with equal labels one label object, and others their own", () => {
    const a = toPod(pod("web-1", { app: "web", "pod-template-hash": "5d9c" }), () => {})!;
    const b = toPod(pod("web-2", { app: "web", "pod-template-hash": "5d9c" }), () => {})!;
    const c = toPod(pod("api-1", { app: "api" }), () => {})!;
    expect(b.labels).toBe(a.labels);
    expect(b.labels).toEqual({ app: "web", "pod-template-hash": "5d9c" });
    expect(c.labels).not.toBe(a.labels);
    expect(c.labels).toEqual({ app: "api" });
  });

  it("keys endpoints to their pods as namespace/name", () => {
    const slice = toSlice({
      kind: "EndpointSlice",
      metadata: { name: "web-1", namespace: "shop", labels: { "kubernetes.io/service-name": "web" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.1.0.1"], targetRef: { kind: "Pod", name: "web-1" } }],
    })!;
    expect(slice.endpoints[0]!.pod).toBe("shop/web-1");
  });

  it("builds names equal to their concatenated form", () => {
    expect(flatName("10-1-0-1.web.shop.svc.cluster.local." as Fqdn)).toBe(
      "10-1-0-1.web.shop.svc.cluster.local.",
    );
    expect(flatName("." as Fqdn)).toBe(".");
    expect(reverseName("10.1.0.2")).toBe("2.0.1.10.in-addr.arpa.");
    expect(reverseName("fd00::1")).toBe(`1.${"0.".repeat(27)}0.0.d.f.ip6.arpa.`);
  });
});
