/**
 * Raw DNS for wire tests: a query builder that can also build malformed queries (nothing is validated), a header
 * reader, and UDP and TCP exchanges on 127.0.0.1 that give up after a timeout instead of hanging.
 */
import dgram from "node:dgram";
import net, { isIPv4 } from "node:net";

export interface OptSpec {
  readonly udpSize?: number;
  readonly version?: number;
  readonly dnssecOk?: boolean;
  readonly options?: readonly { readonly code: number; readonly data: Uint8Array }[];
  /** Owner name in wire form; the root (one zero byte) unless given. */
  readonly owner?: Uint8Array;
}

export interface QuerySpec {
  readonly id?: number;
  /** The second header word: opcode, RD and the rest. Default RD only. */
  readonly flags?: number;
  /** Presentation form (labels are not checked, so a label may exceed 63 octets), or wire form as given. */
  readonly qname: string | Uint8Array;
  readonly qtype?: number;
  readonly qclass?: number;
  /** Raw records written after the question and counted in ANCOUNT. */
  readonly answers?: readonly Uint8Array[];
  /** Raw records written before the OPT record and counted in ARCOUNT. */
  readonly additionals?: readonly Uint8Array[];
  readonly opt?: OptSpec;
  /** Header counts that override the ones derived from the sections. */
  readonly counts?: {
    readonly qd?: number;
    readonly an?: number;
    readonly ns?: number;
    readonly ar?: number;
  };
}

export function encodeName(name: string): Buffer {
  const labels = name.split(".").filter((l) => l !== "");
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    ZERO,
  ]);
}
const ZERO = Buffer.from([0]);

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

/** A record in wire form: owner, type, class IN, TTL, RDATA. */
export function record(owner: string, type: number, ttl: number, rdata: Uint8Array): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(owner), fixed, rdata]);
}

/** An OPT pseudo-record (RFC 6891 section 6.1.2). */
export function optRecord(spec: OptSpec = {}): Buffer {
  const rdata = Buffer.concat((spec.options ?? []).flatMap((o) => [u16(o.code), u16(o.data.length), o.data]));
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(41, 0);
  fixed.writeUInt16BE(spec.udpSize ?? 1232, 2);
  fixed[5] = spec.version ?? 0;
  fixed[6] = spec.dnssecOk ? 0x80 : 0;
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([spec.owner ?? ZERO, fixed, rdata]);
}

export function buildQuery(spec: QuerySpec): Buffer {
  const answers = spec.answers ?? [];
  const additionals = [...(spec.additionals ?? []), ...(spec.opt ? [optRecord(spec.opt)] : [])];
  const c = spec.counts ?? {};
  const header = Buffer.alloc(12);
  header.writeUInt16BE(spec.id ?? 0x1234, 0);
  header.writeUInt16BE(spec.flags ?? 0x0100, 2);
  header.writeUInt16BE(c.qd ?? 1, 4);
  header.writeUInt16BE(c.an ?? answers.length, 6);
  header.writeUInt16BE(c.ns ?? 0, 8);
  header.writeUInt16BE(c.ar ?? additionals.length, 10);
  const qname = typeof spec.qname === "string" ? encodeName(spec.qname) : spec.qname;
  const question = Buffer.concat([qname, u16(spec.qtype ?? 1), u16(spec.qclass ?? 1)]);
  return Buffer.concat([header, question, ...answers, ...additionals]);
}

export interface Header {
  readonly id: number;
  readonly qr: boolean;
  readonly opcode: number;
  readonly aa: boolean;
  readonly tc: boolean;
  readonly rd: boolean;
  readonly ra: boolean;
  /** The low four bits of the rcode, as the header carries them. */
  readonly rcode: number;
  readonly qd: number;
  readonly an: number;
  readonly ns: number;
  readonly ar: number;
}

export function readHeader(msg: Buffer): Header {
  const flags = msg.readUInt16BE(2);
  return {
    id: msg.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    qd: msg.readUInt16BE(4),
    an: msg.readUInt16BE(6),
    ns: msg.readUInt16BE(8),
    ar: msg.readUInt16BE(10),
  };
}

/**
 * Sends one datagram; the response, or null when none came within `timeoutMs`. `from` binds the client socket to a
 * local address first (any of 127.0.0.0/8 on Linux), so the server sees the query come from it.
 */
export function udpExchange(
  port: number,
  msg: Uint8Array,
  timeoutMs = 500,
  from?: string,
): Promise<Buffer | null> {
  const socket = dgram.createSocket("udp4");
  return new Promise<Buffer | null>((resolve, reject) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    socket.once("message", (reply) => {
      clearTimeout(timer);
      resolve(reply);
    });
    socket.once("error", reject);
    const send = () => socket.send(msg, port, "127.0.0.1");
    if (from === undefined) send();
    else socket.bind(0, from, send);
  }).finally(() => socket.close());
}

/**
 * An EDNS Client Subnet option (RFC 7871 section 6, option code 8) for an OPT spec: FAMILY, SOURCE PREFIX-LENGTH,
 * SCOPE PREFIX-LENGTH 0, and the address cut to the prefix's whole octets.
 */
export function clientSubnetOption(address: string, prefix?: number): { code: number; data: Buffer } {
  const v4 = isIPv4(address);
  const bits = prefix ?? (v4 ? 32 : 128);
  const bytes = v4 ? Buffer.from(address.split(".").map(Number)) : ipv6Bytes(address);
  const head = Buffer.from([0, v4 ? 1 : 2, bits, 0]);
  return { code: 8, data: Buffer.concat([head, bytes.subarray(0, Math.ceil(bits / 8))]) };
}

function ipv6Bytes(address: string): Buffer {
  const [head = "", tail] = address.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return out;
}

/** Prefixes the two-byte length of RFC 1035 section 4.2.2. */
export function frame(msg: Uint8Array): Buffer {
  return Buffer.concat([u16(msg.length), msg]);
}

/** One TCP connection: raw writes in, length-framed responses out. */
export class TcpConnection {
  private pending = Buffer.alloc(0);
  private readonly messages: Buffer[] = [];
  private wake: () => void = () => {};
  /** Resolves when the server closes (or resets) the connection. */
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 2 && this.pending.length >= this.pending.readUInt16BE(0) + 2) {
        const len = this.pending.readUInt16BE(0);
        this.messages.push(this.pending.subarray(2, len + 2));
        this.pending = this.pending.subarray(len + 2);
      }
      this.wake();
    });
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {});
  }

  static connect(port: number): Promise<TcpConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: "127.0.0.1", noDelay: true }, () =>
        resolve(new TcpConnection(socket)),
      );
      socket.once("error", reject);
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.write(bytes, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Waits for `count` responses in all, or `timeoutMs`; returns those received so far, consumed. */
  async read(count: number, timeoutMs = 500): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.messages.splice(0);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends the messages framed and pipelined in one write; collects up to as many responses within `timeoutMs`. */
export async function tcpExchange(port: number, msgs: readonly Uint8Array[], timeoutMs = 500) {
  const conn = await TcpConnection.connect(port);
  try {
    await conn.write(Buffer.concat(msgs.map(frame)));
    return await conn.read(msgs.length, timeoutMs);
  } finally {
    conn.close();
  }
}
