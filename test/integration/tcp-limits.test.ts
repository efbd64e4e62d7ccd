/**
 * TCP limits (RFC 7766): the cap on concurrent connections, the idle timeout, the deadline for one message (a client
 * that sends one byte and waits, or trickles a byte a second, is cut off), pipelining at depth, and messages of up
 * to 65,535 bytes in both directions.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPodns, type TestServer } from "../support/podns.js";
import { buildQuery, frame, readHeader, TcpConnection } from "../support/raw-dns.js";

const DEMO = { sources: ["zones/"], kube: { kind: "none" } } as const;
const WEB = "web.demo.svc.cluster.local";

/** A framed query for `qname`, A, with this ID. */
const framed = (id: number, qname = WEB, qtype = 1) => frame(buildQuery({ id, qname, qtype }));

/** Asks one query on the connection; its answer's ID, or undefined when none came within `ms`. */
async function ask(conn: TcpConnection, id: number, ms = 1000): Promise<number | undefined> {
  await conn.write(framed(id)).catch(() => {});
  const [reply] = await conn.read(1, ms);
  return reply === undefined ? undefined : readHeader(reply).id;
}

/** Milliseconds until the server closes the connection, or undefined if it is still open after `ms`. */
async function closedWithin(conn: TcpConnection, ms: number): Promise<number | undefined> {
  const started = performance.now();
  const closed = await Promise.race([
    conn.closed.then(() => true),
    sleep(ms, undefined, { ref: false }).then(() => false),
  ]);
  return closed ? performance.now() - started : undefined;
}

/** A connection, or undefined when the server refused or reset it while connecting. */
async function connect(port: number): Promise<TcpConnection | undefined> {
  try {
    return await TcpConnection.connect(port);
  } catch {
    return undefined;
  }
}

describe("--tcp-max-connections 5", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startPodns({ ...DEMO, tcpMaxConnections: 5 });
  });
  afterAll(() => server.stop());

  it("refuses connections beyond the cap while serving the ones it holds, and takes new ones once some close", async () => {
    const held: TcpConnection[] = [];
    const extra: (TcpConnection | undefined)[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const conn = (await connect(server.port))!;
        held.push(conn);
        expect(await ask(conn, 100 + i)).toBe(100 + i);
      }
      for (let i = 0; i < 5; i++) extra.push(await connect(server.port));
      for (const [i, conn] of extra.entries()) {
        if (conn === undefined) continue;
        expect(await ask(conn, 200 + i, 300)).toBeUndefined();
        expect(await closedWithin(conn, 1000)).toBeDefined();
      }
      for (const [i, conn] of held.entries()) expect(await ask(conn, 300 + i)).toBe(300 + i);

      held.shift()?.close();
      held.shift()?.close();
      await sleep(100);
      for (let i = 0; i < 2; i++) {
        const conn = (await connect(server.port))!;
        held.push(conn);
        expect(await ask(conn, 400 + i)).toBe(400 + i);
      }
    } finally {
      for (const conn of [...held, ...extra]) conn?.close();
    }
  });
});

describe("TCP deadlines (idle timeout 1 s; message deadline 3 s with the default idle timeout)", () => {
  let idle: TestServer;
  let server: TestServer;
  beforeAll(async () => {
    idle = await startPodns({ ...DEMO, tcpIdleTimeout: 1 });
    server = await startPodns(DEMO);
  });
  afterAll(async () => {
    await idle.stop();
    await server.stop();
  });

  it("closes a connection idle for the idle timeout after its last answer", async () => {
    const conn = (await connect(idle.port))!;
    try {
      expect(await ask(conn, 1)).toBe(1);
      const took = await closedWithin(conn, 4000);
      expect(took).toBeDefined();
      expect(took!).toBeGreaterThan(700);
      expect(took!).toBeLessThan(2500);
    } finally {
      conn.close();
    }
  });

  it("cuts off a client that sends one byte of a message and waits, within the 3 s message deadline", async () => {
    const conn = (await connect(server.port))!;
    try {
      await conn.write(framed(2).subarray(0, 1));
      const took = await closedWithin(conn, 6000);
      expect(took).toBeDefined();
      expect(took!).toBeGreaterThan(2500);
      expect(took!).toBeLessThan(4000);
    } finally {
      conn.close();
    }
  });

  it("cuts off a client that sends the length and half a message", async () => {
    const conn = (await connect(server.port))!;
    try {
      const msg = framed(3);
      await conn.write(msg.subarray(0, msg.length >> 1));
      const took = await closedWithin(conn, 6000);
      expect(took).toBeDefined();
      expect(took!).toBeLessThan(4000);
      expect(await conn.read(1, 10)).toEqual([]);
    } finally {
      conn.close();
    }
  });

  it("does not let a client trickling one byte a second hold a connection past the message deadline", async () => {
    const conn = (await connect(server.port))!;
    const msg = framed(4);
    let sent = 0;
    let closed = false;
    void conn.closed.then(() => {
      closed = true;
    });
    const started = performance.now();
    try {
      while (!closed && sent < msg.length && performance.now() - started < 8000) {
        await conn.write(msg.subarray(sent, sent + 1)).catch(() => {});
        sent++;
        await sleep(1000);
      }
      const took = performance.now() - started;
      expect(closed).toBe(true);
      // Each byte restarts the idle timer (10 s) but not the message deadline, which runs from the first byte.
      expect(took).toBeLessThan(4500);
      expect(sent).toBeLessThan(msg.length);
      expect(await conn.read(1, 10)).toEqual([]);
    } finally {
      conn.close();
    }
  });
});

describe("TCP messages at depth and at size", () => {
  let server: TestServer;
  let dir: string;
  /** A headless Service with 4,000 ready endpoints: its A answer is 64,044 bytes. */
  const BIG = "big.load.svc.cluster.local";
  const ENDPOINTS = 4000;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "podns-tcp-"));
    const slices = Array.from({ length: ENDPOINTS / 1000 }, (_, s) => ({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: `big-${s}`, namespace: "load", labels: { "kubernetes.io/service-name": "big" } },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: Array.from({ length: 1000 }, (_, i) => ({
        addresses: [`10.60.${s * 4 + (i >> 8)}.${i & 0xff}`],
        conditions: { ready: true },
      })),
    }));
    const svc = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "big", namespace: "load" },
      spec: { clusterIP: "None", selector: { app: "big" }, ports: [{ name: "http", port: 80 }] },
    };
    writeFileSync(path.join(dir, "big.json"), JSON.stringify({ kind: "List", items: [svc, ...slices] }));
    server = await startPodns({ sources: ["zones/", dir], kube: { kind: "none" } });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers 200 pipelined queries in order, each under its own ID with its own question", async () => {
    const names = [WEB, "db-0.db.demo.svc.cluster.local", "nope.demo.svc.cluster.local", "example.com", BIG];
    const queries = Array.from({ length: 200 }, (_, i) =>
      buildQuery({ id: 5000 + i, qname: names[i % names.length]!, qtype: [1, 28, 33, 16][i % 4] }),
    );
    const conn = (await connect(server.port))!;
    try {
      await conn.write(Buffer.concat(queries.map(frame)));
      const replies = await conn.read(queries.length, 5000);
      expect(replies.map((r) => readHeader(r).id)).toEqual(queries.map((q) => q.readUInt16BE(0)));
      for (const [i, r] of replies.entries()) {
        const q = queries[i]!;
        expect(r.subarray(12, q.length).equals(q.subarray(12)), `question of ${i}`).toBe(true);
        expect(readHeader(r).qr).toBe(true);
      }
    } finally {
      conn.close();
    }
  });

  it("answers a query of exactly 65,535 bytes (padded with an EDNS option)", async () => {
    const base = buildQuery({
      id: 6001,
      qname: WEB,
      opt: { options: [{ code: 12, data: Buffer.alloc(0) }] },
    });
    const query = buildQuery({
      id: 6001,
      qname: WEB,
      opt: { options: [{ code: 12, data: Buffer.alloc(65_535 - base.length) }] },
    });
    expect(query.length).toBe(65_535);
    const conn = (await connect(server.port))!;
    try {
      await conn.write(frame(query));
      const [reply] = await conn.read(1, 2000);
      expect(reply).toBeDefined();
      expect(readHeader(reply!)).toMatchObject({ id: 6001, rcode: 0, an: 2 });
    } finally {
      conn.close();
    }
  });

  it("sends a 64,044-byte answer of 4,000 A records whole, framed, without TC", async () => {
    const conn = (await connect(server.port))!;
    try {
      await conn.write(framed(6002, BIG));
      const [reply] = await conn.read(1, 3000);
      expect(reply).toBeDefined();
      expect(readHeader(reply!)).toMatchObject({ id: 6002, rcode: 0, tc: false, an: ENDPOINTS });
      expect(reply!.length).toBe(12 + BIG.length + 2 + 4 + ENDPOINTS * 16);
      // The same connection goes on to the next message after the large one.
      expect(await ask(conn, 6003)).toBe(6003);
    } finally {
      conn.close();
    }
  });
});
