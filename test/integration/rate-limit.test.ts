import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QType, Rcode } from "../../src/dns/constants.js";
import { networkOf, RateLimiter } from "../../src/server/rate-limit.js";
import { scrape, startPodns, type TestServer, total } from "../support/podns.js";
import { buildQuery, readHeader, tcpExchange, udpExchange } from "../support/raw-dns.js";

const QNAME = "_http._tcp.web.demo.svc.cluster.local";

async function ask(server: TestServer, from: string, id: number) {
  const reply = await udpExchange(server.port, buildQuery({ id, qname: QNAME, qtype: QType.SRV }), 500, from);
  expect(reply).not.toBeNull();
  return readHeader(reply!);
}

/** Asks from `from` until an answer is a slip (the limit is 5 a second; 20 asks span at most a few seconds). */
async function untilSlipped(server: TestServer, from: string, firstId: number): Promise<void> {
  for (let i = 0; i < 20; i++) if ((await ask(server, from, firstId + i)).tc) return;
  expect.unreachable(`no slip for ${from} after 20 queries`);
}

describe("response rate limiting with slips (--rate-limit)", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startPodns({ sources: ["zones/"], kube: { kind: "none" }, rateLimit: 5 });
  });
  afterAll(() => server?.stop());

  it("answers a client network up to the limit, then slips: TC=1, no records, the question kept", async () => {
    const slipsBefore = await rateLimited(server);
    const headers = [];
    for (let i = 0; i < 12; i++) headers.push(await ask(server, "127.0.0.1", 100 + i));
    const full = headers.filter((h) => !h.tc);
    const slips = headers.filter((h) => h.tc);
    // The window is one second: a second boundary inside the loop gives the client a fresh budget.
    expect(full.length).toBeGreaterThanOrEqual(5);
    expect(full.length).toBeLessThanOrEqual(10);
    expect(slips.length).toBeGreaterThanOrEqual(2);
    for (const h of full) expect(h.an).toBe(2);
    for (const h of slips) {
      expect([h.an, h.ns, h.ar, h.qd, h.rcode]).toEqual([0, 0, 0, 1, Rcode.NOERROR]);
    }
    expect(headers.map((h) => h.id)).toEqual(headers.map((_, i) => 100 + i));
    expect((await rateLimited(server)) - slipsBefore).toBe(slips.length);
  });

  it("keeps an OPT record in a slip to an EDNS query (RFC 6891 6.1.1), and the slip is no larger than the query", async () => {
    const query = buildQuery({ id: 900, qname: QNAME, qtype: QType.SRV, opt: { udpSize: 1232 } });
    let slipped: Buffer | null = null;
    for (let i = 0; i < 12 && slipped === null; i++) {
      const reply = await udpExchange(server.port, query, 500, "127.0.0.1");
      if (reply !== null && readHeader(reply).tc) slipped = reply;
    }
    expect(slipped).not.toBeNull();
    const h = readHeader(slipped!);
    expect([h.an, h.ns, h.ar]).toEqual([0, 0, 1]);
    expect(slipped!.readUInt16BE(slipped!.length - 11 + 1)).toBe(QType.OPT);
    expect(slipped!.length).toBeLessThanOrEqual(query.length);
  });

  it("counts another /24 on its own", async () => {
    await untilSlipped(server, "127.0.0.1", 200);
    expect((await ask(server, "127.0.7.9", 300)).tc).toBe(false);
  });

  it("leaves TCP alone: the client a slip sends there is answered in full", async () => {
    await untilSlipped(server, "127.0.0.1", 400);
    const [reply] = await tcpExchange(server.port, [buildQuery({ id: 500, qname: QNAME, qtype: QType.SRV })]);
    expect(readHeader(reply!).an).toBe(2);
  });
});

describe("RateLimiter", () => {
  it.each([
    { address: "10.1.2.3", network: "10.1.2" },
    { address: "10.1.2.250", network: "10.1.2" },
    { address: "fd00:1:2:3456::1", network: "fd00:0001:0002:34" },
    { address: "fd00:1:2:34ff::9", network: "fd00:0001:0002:34" },
    { address: "fd00:1:2:3556::1", network: "fd00:0001:0002:35" },
  ])("puts $address in the network $network (/24, /56)", ({ address, network }) => {
    expect(networkOf(address)).toBe(network);
  });

  it("starts every second afresh and is off at 0", () => {
    const limiter = new RateLimiter(2);
    expect([1, 2, 3].map(() => limiter.limited("10.0.0.1", 1_000))).toEqual([false, false, true]);
    expect(limiter.limited("10.0.0.1", 2_000)).toBe(false);
    expect(new RateLimiter(0).enabled).toBe(false);
  });
});

/** podns_dns_rate_limited_total as /metrics reports it. */
async function rateLimited(server: TestServer): Promise<number> {
  return total(await scrape(server), "podns_dns_rate_limited_total");
}
