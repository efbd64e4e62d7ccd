/**
 * The response cache of the query handler: responses are kept per qname and told apart by qtype, size limit, EDNS
 * and client subnet, at most 16 per name. Every answer is checked against a fresh encoding (a handler with an empty
 * cache), so a wrong variant served from the cache, or one lost to the per-name bound, fails the test.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { Packet } from "dns2";
import { afterAll, describe, expect, it } from "vitest";
import { QueryHandler } from "../../src/server/handler.js";
import { buildQuery, clientSubnetOption, readHeader } from "../support/raw-dns.js";
import {
  editFixture,
  NO_METRICS,
  removeWritableCopies,
  withoutId,
  writableCopy,
  zoneHarness,
} from "../support/zone-harness.js";

const h = zoneHarness();
const POLICY = { shuffle: false, maxAnswers: 0 };
const QNAME = "_memcache._tcp.cache.shop.svc.cluster.local.";

/** A response with its ID zeroed, for comparison with another handler's. */
const answer = (qh: QueryHandler, query: Buffer) => withoutId(qh.handle(query, "udp", "127.0.0.1"));

describe("response cache", () => {
  it("keeps responses for one qname apart by qtype, EDNS size, DO bit and client subnet, beyond 16 shapes", () => {
    const cached = new QueryHandler(h.store, NO_METRICS, POLICY);
    const shapes: Buffer[] = [];
    for (const qtype of [33, 1, 28, 16]) {
      shapes.push(buildQuery({ qname: QNAME, qtype }));
      for (const udpSize of [512, 600, 1232, 4096]) {
        shapes.push(buildQuery({ qname: QNAME, qtype, opt: { udpSize } }));
        shapes.push(buildQuery({ qname: QNAME, qtype, opt: { udpSize, dnssecOk: true } }));
      }
      shapes.push(
        buildQuery({ qname: QNAME, qtype, opt: { options: [clientSubnetOption("10.244.1.0", 24)] } }),
      );
    }
    expect(shapes.length).toBeGreaterThan(16);
    // Three passes: the first fills the cache, the others are served from it or re-encoded after eviction.
    for (let pass = 0; pass < 3; pass++) {
      for (const query of shapes) {
        expect(answer(cached, query)).toBe(answer(new QueryHandler(h.store, NO_METRICS, POLICY), query));
      }
    }
  });
});

afterAll(removeWritableCopies);
const edit = (dir: string, file: string, from: string, to: string) =>
  editFixture(dir, file, (text) => text.replace(from, to));

/** A query observer that records whether each answer came from the cache. */
function hits() {
  const seen: boolean[] = [];
  return { seen, observer: { observe: (...a: unknown[]) => seen.push(a[4] as boolean), dropped() {} } };
}

describe("negative answers in the cache", () => {
  const SERIAL_AT = (reply: Buffer) => {
    const p = Packet.parse(reply);
    return (p.authorities[0] as unknown as { serial: number }).serial;
  };

  it("outlive publishes that do not touch them, carrying the current serial, and end when the name appears", () => {
    const dir = writableCopy();
    const h = zoneHarness({ paths: [dir] });
    const { seen, observer } = hits();
    const cached = new QueryHandler(h.store, observer, POLICY);
    const fresh = () => new QueryHandler(h.store, NO_METRICS, POLICY);
    const nx = buildQuery({ qname: "late.shop.svc.cluster.local.", qtype: 1, opt: {} });
    const nodata = buildQuery({ qname: "cache.shop.svc.cluster.local.", qtype: 1, opt: {} });
    const serialBefore = SERIAL_AT(cached.handle(nx, "udp")!);
    expect(answer(cached, nodata)).toBe(answer(fresh(), nodata));
    expect(Packet.parse(cached.handle(nodata, "udp")!).answers).toEqual([]);

    // Another Service changes: the serial moves, both answers stay cached with the new serial patched in.
    edit(dir, "storefront.yaml", "10.244.1.15", "10.244.1.99");
    expect(h.reload()).toBe(true);
    seen.length = 0;
    const nxAfter = cached.handle(nx, "udp")!;
    expect(SERIAL_AT(nxAfter)).toBeGreaterThan(serialBefore);
    expect(SERIAL_AT(nxAfter)).toBe(h.store.soaSerial);
    expect(answer(cached, nx)).toBe(answer(fresh(), nx));
    expect(answer(cached, nodata)).toBe(answer(fresh(), nodata));
    expect(seen).toEqual([true, true, true]);
    expect(readHeader(nxAfter).rcode).toBe(3);

    // The name appears: NXDOMAIN gives way to its address.
    writeFileSync(
      path.join(dir, "late.yaml"),
      "apiVersion: v1\nkind: Service\nmetadata: { name: late, namespace: shop }\n" +
        "spec: { type: ClusterIP, clusterIP: 10.96.77.77, clusterIPs: [10.96.77.77], ports: [{ port: 80 }] }\n",
    );
    expect(h.reload()).toBe(true);
    const appeared = cached.handle(nx, "udp")!;
    expect(readHeader(appeared).rcode).toBe(0);
    expect(Packet.parse(appeared).answers.map((a) => a.address)).toEqual(["10.96.77.77"]);
  });

  it("end when the zone's SOA changes in anything but its serial", () => {
    const dir = writableCopy();
    const h = zoneHarness({ paths: [dir] });
    const cached = new QueryHandler(h.store, NO_METRICS, POLICY);
    const nx = buildQuery({ qname: "nothing.cluster.local.", qtype: 1 });
    cached.handle(nx, "udp");
    edit(dir, "cluster.local.zone", "5 )        ; minimum", "7 )        ; minimum");
    expect(h.reload()).toBe(true);
    expect(answer(cached, nx)).toBe(answer(new QueryHandler(h.store, NO_METRICS, POLICY), nx));
    const soa = Packet.parse(cached.handle(nx, "udp")!).authorities[0] as unknown as { minimum: number };
    expect(soa.minimum).toBe(7);
  });
});
