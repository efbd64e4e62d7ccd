import { describe, expect, it } from "vitest";
import { QType } from "../../src/dns/constants.js";
import { type Fqdn, fqdn } from "../../src/dns/name.js";
import type { RrSet } from "../../src/dns/records.js";
import { ZoneIndex } from "../../src/zone/index.js";

const n = (s: string) => fqdn(s);
function a(name: string, ...addresses: string[]): RrSet {
  const owner = n(name);
  return {
    name: owner,
    type: QType.A,
    records: addresses.map((address) => ({ name: owner, ttl: 5, type: QType.A, address })),
  };
}
const names = (index: ZoneIndex) => [...index.nodes.keys()].sort();

describe("ZoneIndex", () => {
  it("creates every ancestor of a name up to its apex as an empty non-terminal, and removes them with it", () => {
    const index = new ZoneIndex([n("cluster.local")]);
    index.setSource("svc:shop/web", [a("web.shop.svc.cluster.local", "10.0.0.1")]);
    expect(names(index)).toEqual([
      "cluster.local.",
      "shop.svc.cluster.local.",
      "svc.cluster.local.",
      "web.shop.svc.cluster.local.",
    ]);
    expect(index.nodes.get(n("svc.cluster.local"))!.values()).toEqual([]);
    index.setSource("svc:shop/web", []);
    expect(names(index)).toEqual(["cluster.local."]);
  });

  it("keeps a shared ancestor while another name still needs it", () => {
    const index = new ZoneIndex([n("cluster.local")]);
    index.setSource("svc:shop/web", [a("web.shop.svc.cluster.local", "10.0.0.1")]);
    index.setSource("svc:shop/api", [a("api.shop.svc.cluster.local", "10.0.0.2")]);
    index.setSource("svc:shop/web", []);
    expect(names(index)).toContain("shop.svc.cluster.local.");
    expect(index.nodes.has(n("web.shop.svc.cluster.local"))).toBe(false);
  });

  it("merges one name and type given by two sources and unmerges it when one leaves", () => {
    const index = new ZoneIndex([n("10.in-addr.arpa")]);
    const ptr = (target: string): RrSet => {
      const owner = n("1.0.0.10.in-addr.arpa");
      return {
        name: owner,
        type: QType.PTR,
        records: [{ name: owner, ttl: 5, type: QType.PTR, target: n(target) as Fqdn }],
      };
    };
    index.setSource("svc:a", [ptr("pod.a.svc.cluster.local")]);
    index.setSource("svc:b", [ptr("pod.b.svc.cluster.local")]);
    expect(index.nodes.get(n("1.0.0.10.in-addr.arpa"))!.get(QType.PTR)!.records).toHaveLength(2);
    index.setSource("svc:a", []);
    expect(index.nodes.get(n("1.0.0.10.in-addr.arpa"))!.get(QType.PTR)!.records).toEqual([
      { name: "1.0.0.10.in-addr.arpa.", ttl: 5, type: QType.PTR, target: "pod.b.svc.cluster.local." },
    ]);
  });

  it("moves a name's generation when its records change, and only then", () => {
    const index = new ZoneIndex([n("cluster.local")]);
    index.setSource("svc:shop/web", [a("web.shop.svc.cluster.local", "10.0.0.1")]);
    const node = index.nodes.get(n("web.shop.svc.cluster.local"))!;
    const gen = node.gen;
    expect(index.setSource("svc:shop/web", [a("web.shop.svc.cluster.local", "10.0.0.1")])).toBe(0);
    expect(node.gen).toBe(gen);
    index.setSource("svc:shop/web", [a("web.shop.svc.cluster.local", "10.0.0.2")]);
    expect(node.gen).toBe(gen + 1);
    index.setSource("svc:shop/web", []);
    expect(node.gen).toBeGreaterThan(gen + 1);
  });

  it("touches only the names of the source that changed", () => {
    const index = new ZoneIndex([n("cluster.local")]);
    for (let i = 0; i < 100; i++)
      index.setSource(`svc:ns/s${i}`, [a(`s${i}.ns.svc.cluster.local`, `10.0.${i}.1`)]);
    const other = index.nodes.get(n("s7.ns.svc.cluster.local"))!;
    const gen = other.gen;
    expect(index.setSource("svc:ns/s3", [a("s3.ns.svc.cluster.local", "10.9.9.9")])).toBe(1);
    expect(other.gen).toBe(gen);
  });

  it("drops records outside every zone", () => {
    const index = new ZoneIndex([n("cluster.local")]);
    index.setSource("svc:x", [a("web.example.org", "10.0.0.1")]);
    expect(names(index)).toEqual(["cluster.local."]);
  });
});
