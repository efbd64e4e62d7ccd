/**
 * The response cache of the query handler: responses are kept per qname and told apart by qtype, size limit, EDNS
 * and client subnet, at most 16 per name. Every answer is checked against a fresh encoding (a handler with an empty
 * cache), so a wrong variant served from the cache, or one lost to the per-name bound, fails the test.
 */
import { Packet } from "dns2";
import { describe, expect, it } from "vitest";
import { QueryHandler } from "../../src/server/handler.js";
import { buildQuery, clientSubnetOption } from "../support/raw-dns.js";
import { zoneHarness } from "../support/zone-harness.js";

const h = zoneHarness();
const NO_METRICS = { observe() {}, dropped() {} };
const POLICY = { shuffle: false, maxAnswers: 0 };
const QNAME = "_memcache._tcp.cache.shop.svc.cluster.local.";

/** A response with its ID zeroed, for comparison with another handler's. */
function answer(qh: QueryHandler, query: Buffer): string {
  const out = qh.handle(query, "udp", "127.0.0.1");
  expect(out).not.toBeNull();
  return Buffer.concat([Buffer.alloc(2), out!.subarray(2)]).toString("hex");
}

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
    // The SRV answer with a 512-byte limit is truncated; with 4,096 it is whole.
    const small = Packet.parse(
      cached.handle(buildQuery({ qname: QNAME, qtype: 33, opt: { udpSize: 512 } }), "udp")!,
    );
    const large = Packet.parse(
      cached.handle(buildQuery({ qname: QNAME, qtype: 33, opt: { udpSize: 4096 } }), "udp")!,
    );
    expect(large.answers.length).toBe(2);
    expect(small.answers.length).toBeLessThanOrEqual(large.answers.length);
  });
});
