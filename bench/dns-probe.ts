/**
 * A minimal UDP DNS client for the harness: one query at a time, EDNS with 1,232 bytes, and an answer reader that
 * gives the rcode and the answer section in presentation form (A and SRV), enough to compare servers and to see
 * a change arrive. Independent of podns's own codec on purpose.
 */
import dgram from "node:dgram";

export const QTYPE = { A: 1, SRV: 33 } as const;

export interface Reply {
  readonly rcode: number;
  readonly truncated: boolean;
  /** Answer records as "A 10.64.0.1" or "SRV 0 65535 8080 target.", owner names left out, lowercased. */
  readonly answers: string[];
}

export class DnsProbe {
  private waiting: { id: number; resolve: (msg: Buffer) => void } | undefined;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly port: number,
  ) {
    socket.on("message", (msg) => {
      if (this.waiting !== undefined && msg.length >= 12 && msg.readUInt16BE(0) === this.waiting.id) {
        this.waiting.resolve(msg);
      }
    });
  }

  static async open(port: number): Promise<DnsProbe> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    return new DnsProbe(socket, port);
  }

  /** One query; undefined when no answer came within the timeout. */
  async query(name: string, qtype: number, timeoutMs: number): Promise<Reply | undefined> {
    const id = Math.floor(Math.random() * 65_536);
    const reply = new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.waiting = {
        id,
        resolve: (msg) => {
          clearTimeout(timer);
          resolve(msg);
        },
      };
    });
    this.socket.send(encodeQuery(id, name, qtype), this.port, "127.0.0.1");
    const msg = await reply;
    this.waiting = undefined;
    return msg === undefined ? undefined : decodeReply(msg);
  }

  close(): void {
    this.socket.close();
  }
}

function encodeQuery(id: number, name: string, qtype: number): Buffer {
  const labels = name.split(".").filter((l) => l !== "");
  const qname = Buffer.concat([
    ...labels.map((l) => Buffer.from([l.length, ...Buffer.from(l)])),
    Buffer.of(0),
  ]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1, 10);
  const question = Buffer.alloc(4);
  question.writeUInt16BE(qtype, 0);
  question.writeUInt16BE(1, 2);
  // OPT: root owner, type 41, class = UDP payload size 1232, TTL 0, no options.
  const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, qname, question, opt]);
}

function decodeReply(msg: Buffer): Reply {
  const flags = msg.readUInt16BE(2);
  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  let offset = 12;
  for (let i = 0; i < qdcount; i++) offset = readName(msg, offset).end + 4;
  const answers: string[] = [];
  for (let i = 0; i < ancount; i++) {
    offset = readName(msg, offset).end;
    const type = msg.readUInt16BE(offset);
    const rdlength = msg.readUInt16BE(offset + 8);
    const rdata = offset + 10;
    if (type === QTYPE.A) answers.push(`A ${[...msg.subarray(rdata, rdata + 4)].join(".")}`);
    else if (type === QTYPE.SRV) {
      const [priority, weight, port] = [0, 2, 4].map((d) => msg.readUInt16BE(rdata + d));
      answers.push(`SRV ${priority} ${weight} ${port} ${readName(msg, rdata + 6).name}`);
    } else answers.push(`TYPE${type}`);
    offset = rdata + rdlength;
  }
  return { rcode: flags & 0xf, truncated: (flags & 0x0200) !== 0, answers };
}

/** A possibly compressed name (RFC 1035 section 4.1.4), lowercased, and where the name ends in place. */
function readName(msg: Buffer, start: number): { name: string; end: number } {
  const labels: string[] = [];
  let offset = start;
  let end = -1;
  for (let hops = 0; hops < 64; hops++) {
    const len = msg[offset]!;
    if (len === 0) {
      if (end < 0) end = offset + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (end < 0) end = offset + 2;
      offset = ((len & 0x3f) << 8) | msg[offset + 1]!;
      continue;
    }
    labels.push(msg.toString("latin1", offset + 1, offset + 1 + len).toLowerCase());
    offset += 1 + len;
  }
  return { name: `${labels.join(".")}.`, end };
}
