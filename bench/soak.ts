/**
 * Soak: hostile packets against `podns serve --source zones/` in a child process. Random bytes, valid queries with
 * bytes flipped, inserted, deleted or cut, and the malformed classes of RFC 1035, RFC 6891 and RFC 9619 (pointer
 * loops, forward pointers, long labels and names, wrong section counts, two OPTs, trailing bytes), over UDP and,
 * one batch in twenty, pipelined over TCP. After every batch of 200 a normal query must get its right answer. The
 * report gives the crashes (the process exited, or the handler caught an exception: `podns_dns_dropped_total
 * {reason="internal"}`), which should be 0, and VmRSS after a warm-up and at the end, which should be flat.
 *
 * Usage: npm run soak -- [--count N] [--seed S]
 */
import dgram from "node:dgram";
import { rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { PODNS_BIN, ROOT } from "./environment.js";
import { type HeapUsage, readHeap } from "./heap.js";
import { positive } from "./options.js";
import { type Child, start } from "./processes.js";
import { memory } from "./procfs.js";
import { freePort } from "./servers.js";

export interface SoakOptions {
  /** Packets to send after the warm-up. */
  readonly count: number;
  readonly seed: number;
  /** Packets sent before the first RSS reading, so that caches and compiled code have settled. */
  readonly warmup: number;
  /** `bin/podns.js` and the folder served, absolute. */
  readonly bin: string;
  readonly zones: string;
  /**
   * bench/heap-probe.js (compiled): when given, podns runs with it preloaded, and the heap after a full garbage
   * collection is read before and after the soak, a steadier figure than RSS.
   */
  readonly heapProbe?: string;
  readonly log?: (line: string) => void;
}

export interface SoakResult {
  readonly packets: number;
  readonly udp: number;
  readonly tcp: number;
  readonly answers: number;
  /** The podns process exited during the soak (0 or 1). */
  readonly exits: number;
  /** Exceptions the query handler caught and answered with SERVFAIL. */
  readonly internalErrors: number;
  readonly healthChecks: number;
  readonly healthFailures: number;
  /** VmRSS in bytes after the warm-up, and at the end. */
  readonly rssBefore: number;
  readonly rssAfter: number;
  /** Bytes of V8 heap in use, and of ArrayBuffers (Buffers), after a full garbage collection; with a heap probe. */
  readonly heapBefore: HeapUsage | undefined;
  readonly heapAfter: HeapUsage | undefined;
  readonly seconds: number;
}

const HEALTH_NAME = "web.demo.svc.cluster.local";
const HEALTH_ANSWER = ["10.244.1.10", "10.244.1.11"];
const NAMES = [
  HEALTH_NAME,
  "_http._tcp.web.demo.svc.cluster.local",
  "db-0.db.demo.svc.cluster.local",
  "cluster.local",
];
const BATCH = 200;
/** Distinct names asked before the soak: more than the handler's cache holds. */
const CACHE_FILL = 100_000;

/** xorshift32: the same packets for the same seed. */
class Rng {
  constructor(private state: number) {
    this.state = state >>> 0 || 1;
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
  below(n: number): number {
    return this.next() % n;
  }
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

function wireName(name: string): Buffer {
  const labels = name.split(".").filter((l) => l !== "");
  return Buffer.concat([
    ...labels.map((l) => Buffer.from([l.length, ...Buffer.from(l, "latin1")])),
    Buffer.of(0),
  ]);
}

function query(
  id: number,
  qname: Buffer,
  qtype: number,
  qclass = 1,
  counts = [1, 0, 0, 0],
  tail?: Buffer,
): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  for (const [i, c] of counts.entries()) header.writeUInt16BE(c, 4 + 2 * i);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(qtype, 0);
  q.writeUInt16BE(qclass, 2);
  return Buffer.concat([header, qname, q, ...(tail ? [tail] : [])]);
}

/** OPT with a 1232-byte payload size and, sometimes, an option of random bytes. */
function opt(rng: Rng, owner = Buffer.of(0)): Buffer {
  const option = rng.below(2)
    ? Buffer.concat([Buffer.from([0, rng.pick([8, 10, 12, 65001]), 0, 6]), rng.bytes(6)])
    : Buffer.alloc(0);
  const fixed = Buffer.from([0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, option.length]);
  return Buffer.concat([owner, fixed, option]);
}

function validQuery(rng: Rng): Buffer {
  const name = rng.below(4)
    ? wireName(rng.pick(NAMES))
    : wireName(`${rng.bytes(4).toString("hex")}.demo.svc.cluster.local`);
  const qtype = rng.below(3) ? rng.pick([1, 28, 33, 12, 16, 255, 6, 2]) : rng.below(65536);
  const qclass = rng.below(8) ? 1 : rng.below(65536);
  const edns = rng.below(2) === 0;
  return query(rng.below(65536), name, qtype, qclass, [1, 0, 0, edns ? 1 : 0], edns ? opt(rng) : undefined);
}

/** One of the malformed classes: each must get FORMERR (or be dropped), never an exception. */
function malformed(rng: Rng): Buffer {
  const id = rng.below(65536);
  const web = wireName(HEALTH_NAME);
  switch (rng.below(10)) {
    case 0: // A pointer in the question: to itself, forward, or back into the header.
      return query(id, Buffer.from([3, 0x77, 0x65, 0x62, 0xc0, rng.pick([12, 16, 200])]), 1);
    case 1: // A label over 63 octets.
      return query(
        id,
        Buffer.concat([Buffer.from([64 + rng.below(128)]), rng.bytes(rng.below(200)), Buffer.of(0)]),
        1,
      );
    case 2: // A name over 255 octets.
      return query(id, wireName(Array.from({ length: 5 }, () => "a".repeat(63)).join(".")), 1);
    case 3: // QDCOUNT 0 or 2+.
      return query(id, web, 1, 1, [rng.pick([0, 2, 65535]), 0, 0, 0]);
    case 4: // Records in the answer or authority section.
      return query(
        id,
        web,
        1,
        1,
        rng.below(2) ? [1, 1, 0, 0] : [1, 0, 1, 0],
        Buffer.concat([Buffer.of(0xc0, 12), rng.bytes(14)]),
      );
    case 5: // Two OPT records.
      return query(id, web, 1, 1, [1, 0, 0, 2], Buffer.concat([opt(rng), opt(rng)]));
    case 6: // OPT not owned by the root.
      return query(id, web, 1, 1, [1, 0, 0, 1], opt(rng, Buffer.of(0xc0, 12)));
    case 7: // An additional record whose owner points forward or loops.
      return query(id, web, 1, 1, [1, 0, 0, 1], Buffer.concat([Buffer.of(0xc0, 0xff), Buffer.alloc(10)]));
    case 8: // Truncated anywhere.
      return validQuery(rng).subarray(0, rng.below(40));
    default: // Bytes after the last record.
      return Buffer.concat([validQuery(rng), rng.bytes(1 + rng.below(8))]);
  }
}

function mutated(rng: Rng): Buffer {
  let b = Buffer.from(validQuery(rng));
  for (let n = 1 + rng.below(4); n > 0; n--) {
    const at = rng.below(b.length + 1);
    const kind = rng.below(4);
    if (kind === 0 && at < b.length) b[at] = rng.next() & 0xff;
    else if (kind === 1) b = Buffer.concat([b.subarray(0, at), rng.bytes(1), b.subarray(at)]);
    else if (kind === 2) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else b = b.subarray(0, at);
  }
  return b;
}

/** A hostile packet: 30% random bytes, 40% mutated queries, 20% malformed classes, 10% valid queries. */
function hostilePacket(rng: Rng): Buffer {
  const roll = rng.below(10);
  if (roll < 3) return rng.bytes(rng.below(4) ? rng.below(64) : rng.below(600));
  if (roll < 7) return mutated(rng);
  if (roll < 9) return malformed(rng);
  return validQuery(rng);
}

/** Starts podns serving `zones` and returns it with its ports once it answers. */
async function startServer(
  opts: SoakOptions,
  heapFile: string,
): Promise<{ child: Child; port: number; httpPort: number }> {
  const port = await freePort();
  const httpPort = await freePort();
  const node =
    opts.heapProbe === undefined ? [] : ["--expose-gc", "--import", pathToFileURL(opts.heapProbe).href];
  const args = [...node, opts.bin, "serve", "--source", opts.zones, "--listen", `127.0.0.1:${port}`];
  const child = start(
    "podns",
    process.execPath,
    [...args, "--http-listen", `127.0.0.1:${httpPort}`, "--log-level", "warn"],
    { env: { BENCH_HEAP_FILE: heapFile } },
  );
  const socket = await udpSocket();
  try {
    for (let i = 0; i < 100; i++) {
      if (!child.isRunning()) throw new Error(`${await child.exited}\n${child.output()}`);
      if (await healthy(socket, port)) return { child, port, httpPort };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    socket.close();
  }
  await child.stop();
  throw new Error(`podns did not answer within 10 s\n${child.output()}`);
}

function udpSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket("udp4");
  return new Promise((resolve) => socket.bind(0, "127.0.0.1", () => resolve(socket)));
}

/** A normal A query gets exactly the demo's two addresses within a second. */
async function healthy(socket: dgram.Socket, port: number): Promise<boolean> {
  const id = 0xbeef;
  const reply = await new Promise<Buffer | undefined>((resolve) => {
    const timer = setTimeout(() => done(undefined), 1000);
    const onMessage = (msg: Buffer) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id) done(msg);
    };
    const done = (msg: Buffer | undefined) => {
      clearTimeout(timer);
      socket.off("message", onMessage);
      resolve(msg);
    };
    socket.on("message", onMessage);
    socket.send(query(id, wireName(HEALTH_NAME), 1), port, "127.0.0.1");
  });
  if (reply === undefined || (reply[3]! & 0xf) !== 0) return false;
  return answerAddresses(reply).sort().join() === HEALTH_ANSWER.join();
}

/** The A records of the answer section, as dotted quads. */
function answerAddresses(msg: Buffer): string[] {
  const skipName = (at: number) => {
    while (msg[at] !== 0 && (msg[at]! & 0xc0) !== 0xc0) at += msg[at]! + 1;
    return msg[at] === 0 ? at + 1 : at + 2;
  };
  let at = skipName(12) + 4;
  const out: string[] = [];
  for (let i = msg.readUInt16BE(6); i > 0; i--) {
    at = skipName(at);
    const length = msg.readUInt16BE(at + 8);
    if (msg.readUInt16BE(at) === 1) out.push([...msg.subarray(at + 10, at + 14)].join("."));
    at += 10 + length;
  }
  return out;
}

/** Sends one batch over a fresh TCP connection, framed and pipelined; resolves with the answers counted. */
function tcpBatch(port: number, packets: readonly Buffer[]): Promise<number> {
  return new Promise((resolve) => {
    let answers = 0;
    let pending = Buffer.alloc(0);
    const socket = net.connect({ port, host: "127.0.0.1" });
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answers);
    };
    const timer = setTimeout(finish, 500);
    socket.on("error", finish);
    socket.on("close", finish);
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= pending.readUInt16BE(0) + 2) {
        pending = pending.subarray(pending.readUInt16BE(0) + 2);
        answers++;
      }
    });
    const framed = packets.flatMap((p) => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(Math.min(p.length, 0xffff));
      return [len, p.subarray(0, 0xffff)];
    });
    socket.write(Buffer.concat(framed), () => socket.end());
  });
}

async function internalErrors(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = /^podns_dns_dropped_total\{reason="internal"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => {});
  const started = performance.now();
  const heapFile = path.join(os.tmpdir(), `podns-soak-heap-${process.pid}.json`);
  const { child, port, httpPort } = await startServer(opts, heapFile);
  const heap = async () =>
    opts.heapProbe === undefined || exited ? undefined : await readHeap(child.pid, heapFile);
  const socket = await udpSocket();
  let answers = 0;
  socket.on("message", () => answers++);
  const rng = new Rng(opts.seed);
  const counts = { udp: 0, tcp: 0, healthChecks: 0, healthFailures: 0 };
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  /**
   * Sends one batch, over TCP one time in twenty, then checks that a normal query gets its right answer. Over UDP
   * the check also paces the sender: podns answers in arrival order, so its answer means the batch was read.
   */
  const batch = async (packets: readonly Buffer[]) => {
    if (rng.below(20) === 0) {
      answers += await tcpBatch(port, packets);
      counts.tcp += packets.length;
    } else {
      for (const p of packets) socket.send(p, port, "127.0.0.1");
      counts.udp += packets.length;
    }
    counts.healthChecks++;
    let ok = false;
    for (let attempt = 0; attempt < 3 && !ok && !exited; attempt++) ok = await healthy(socket, port);
    if (!ok) counts.healthFailures++;
  };
  const send = async (n: number, make: () => Buffer) => {
    for (let sent = 0; sent < n && !exited; sent += BATCH) {
      await batch(Array.from({ length: Math.min(BATCH, n - sent) }, make));
      if ((sent + BATCH) % 100_000 < BATCH) log(`${counts.udp + counts.tcp} packets, ${answers} answers`);
    }
  };
  try {
    // The response cache (50,000 answers in handler.ts) fills first with distinct names, so that its growth to
    // its bound is not read as a leak.
    let fill = 0;
    await send(CACHE_FILL, () => query(0, wireName(`fill-${fill++}.demo.svc.cluster.local`), 1));
    await send(opts.warmup, () => hostilePacket(rng));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const rssBefore = exited ? 0 : memory(child.pid).rss;
    const heapBefore = await heap();
    await send(opts.count, () => hostilePacket(rng));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const rssAfter = exited ? 0 : memory(child.pid).rss;
    const heapAfter = await heap();
    return {
      packets: counts.udp + counts.tcp,
      udp: counts.udp,
      tcp: counts.tcp,
      answers,
      exits: exited ? 1 : 0,
      internalErrors: exited ? 0 : await internalErrors(httpPort),
      healthChecks: counts.healthChecks,
      healthFailures: counts.healthFailures,
      rssBefore,
      rssAfter,
      heapBefore,
      heapAfter,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    socket.close();
    await child.stop();
    rmSync(heapFile, { force: true });
  }
}

function report(r: SoakResult): string {
  const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  const change = (before: number, after: number) =>
    `${mib(before)} after the warm-up, ${mib(after)} at the end (${after >= before ? "+" : ""}${mib(after - before)})`;
  const lines = [
    `packets:        ${r.packets} (${r.udp} UDP, ${r.tcp} TCP; warm-up included), ${r.answers} answered, in ${r.seconds.toFixed(1)} s`,
    `crashes:        ${r.exits + r.internalErrors} (process exits ${r.exits}, handler exceptions ${r.internalErrors})`,
    `health checks:  ${r.healthChecks - r.healthFailures} of ${r.healthChecks} answered correctly`,
    `RSS:            ${change(r.rssBefore, r.rssAfter)}`,
  ];
  if (r.heapBefore !== undefined && r.heapAfter !== undefined) {
    lines.push(`heap after GC:  ${change(r.heapBefore.heapUsed, r.heapAfter.heapUsed)}`);
    lines.push(`ArrayBuffers:   ${change(r.heapBefore.arrayBuffers, r.heapAfter.arrayBuffers)}`);
  }
  return lines.join("\n");
}

const USAGE = `usage: npm run soak -- [--count N] [--seed S]

  --count N   random and mutated packets to send (default 1,000,000)
  --seed S    seed of the packet generator (default 1)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: "string", default: "1000000" },
      seed: { type: "string", default: "1" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const count = positive("--count", values.count, 1_000_000);
  const seed = Number(values.seed);
  const result = await runSoak({
    count,
    seed,
    warmup: 300_000,
    bin: PODNS_BIN,
    zones: path.join(ROOT, "zones"),
    heapProbe: fileURLToPath(new URL("./heap-probe.js", import.meta.url)),
    log: (line) => console.error(line),
  });
  console.log(report(result));
  if (result.exits + result.internalErrors + result.healthFailures > 0) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`soak: ${err instanceof Error ? err.message : String(err)}${usageAfter(err)}`);
    process.exit(1);
  });
}

/** The usage, after an error in the arguments only. */
function usageAfter(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const inArguments =
    (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) || String(err).includes("--");
  return inArguments ? `\n${USAGE}` : "";
}
