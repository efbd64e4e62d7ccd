/**
 * Message writer: encodes records into one reusable buffer with name compression (RFC 1035 section 4.1.4).
 * The writer is reset per message and can roll back to a checkpoint, which is how truncation drops whole RRsets
 * (RFC 2181 section 9) without re-encoding what came before.
 */
import { ipv6Groups } from "./address.js";
import { QType } from "./constants.js";
import type { Fqdn } from "./name.js";
import type { Rr } from "./records.js";

/** Compression pointers hold 14-bit offsets. */
const MAX_POINTER_OFFSET = 0x3fff;

export interface Checkpoint {
  readonly pos: number;
  readonly names: number;
}

export class MessageWriter {
  readonly buf: Buffer;
  pos = 0;
  /** Offset of the serial of the last SOA record written in this message, or -1: caches patch it (RFC 1982). */
  soaSerialAt = -1;
  /** Suffix (an absolute lowercase name) to the offset where it was written. */
  private readonly names = new Map<string, number>();
  private readonly nameLog: string[] = [];

  /** Room for any message podns sends plus one record past the limit before a rollback. */
  constructor(capacity = 256 * 1024) {
    this.buf = Buffer.alloc(capacity);
  }

  reset(): void {
    this.pos = 0;
    this.soaSerialAt = -1;
    this.names.clear();
    this.nameLog.length = 0;
  }

  checkpoint(): Checkpoint {
    return { pos: this.pos, names: this.nameLog.length };
  }

  rollback(cp: Checkpoint): void {
    this.pos = cp.pos;
    if (this.soaSerialAt >= cp.pos) this.soaSerialAt = -1;
    while (this.nameLog.length > cp.names) this.names.delete(this.nameLog.pop()!);
  }

  /** Lets later names point into a name already in the buffer, such as the echoed question (always at offset 12). */
  registerName(name: Fqdn, offset: number): void {
    // An escaped qname (\DDD) is longer as a string than on the wire, so its offsets cannot be derived.
    if (name.includes("\\")) return;
    let suffix: string = name;
    let at = offset;
    while (suffix !== "." && at <= MAX_POINTER_OFFSET) {
      if (!this.names.has(suffix)) this.remember(suffix, at);
      const dot = suffix.indexOf(".");
      at += dot + 1;
      suffix = suffix.slice(dot + 1) || ".";
    }
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Writes a name, compressed against earlier names unless `compress` is false (RFC 3597 section 4). */
  name(name: Fqdn, compress = true): void {
    let suffix: string = name;
    while (suffix !== "." && suffix !== "") {
      if (compress) {
        const ptr = this.names.get(suffix);
        if (ptr !== undefined) {
          this.u16(0xc000 | ptr);
          return;
        }
        if (this.pos <= MAX_POINTER_OFFSET) this.remember(suffix, this.pos);
      }
      const dot = labelEnd(suffix);
      this.label(suffix, dot);
      suffix = suffix.slice(dot + 1);
    }
    this.u8(0);
  }

  /** Writes one record; the caller checks `pos` against its size limit afterwards. */
  record(rr: Rr): void {
    this.name(rr.name);
    this.u16(rr.type);
    this.u16(rr.class ?? 1);
    this.u32(rr.ttl);
    const lenAt = this.pos;
    this.pos += 2;
    this.rdata(rr);
    this.buf.writeUInt16BE(this.pos - lenAt - 2, lenAt);
  }

  private rdata(rr: Rr): void {
    switch (rr.type) {
      case QType.A:
        this.ipv4((rr as { address: string }).address);
        return;
      case QType.AAAA:
        this.ipv6((rr as { address: string }).address);
        return;
      case QType.NS:
      case QType.CNAME:
      case QType.PTR:
        this.name((rr as { target: Fqdn }).target);
        return;
      case QType.SRV: {
        const srv = rr as { priority: number; weight: number; port: number; target: Fqdn };
        this.u16(srv.priority);
        this.u16(srv.weight);
        this.u16(srv.port);
        this.name(srv.target, false);
        return;
      }
      case QType.MX: {
        const mx = rr as { preference: number; exchange: Fqdn };
        this.u16(mx.preference);
        this.name(mx.exchange);
        return;
      }
      case QType.SOA: {
        const soa = rr as {
          mname: Fqdn;
          rname: Fqdn;
          serial: number;
          refresh: number;
          retry: number;
          expire: number;
          minimum: number;
        };
        this.name(soa.mname);
        this.name(soa.rname);
        this.soaSerialAt = this.pos;
        this.u32(soa.serial);
        this.u32(soa.refresh);
        this.u32(soa.retry);
        this.u32(soa.expire);
        this.u32(soa.minimum);
        return;
      }
      case QType.TXT:
        for (const s of (rr as { strings: readonly string[] }).strings) this.characterStrings(s);
        return;
      default:
        throw new Error(`no encoder for type ${(rr as { type: number }).type}`);
    }
  }

  private ipv4(address: string): void {
    let part = 0;
    for (let i = 0; i < address.length; i++) {
      const c = address.charCodeAt(i);
      if (c === 0x2e) {
        this.u8(part);
        part = 0;
      } else part = part * 10 + (c - 0x30);
    }
    this.u8(part);
  }

  private ipv6(address: string): void {
    for (const g of ipv6Groups(address)) this.u16(g);
  }

  /** One or more character-strings of at most 255 bytes each (RFC 1035 section 3.3): a longer text is split. */
  private characterStrings(text: string): void {
    const bytes = Buffer.from(text, "utf8");
    let at = 0;
    do {
      const n = Math.min(255, bytes.length - at);
      this.u8(n);
      this.bytes(bytes.subarray(at, at + n));
      at += n;
    } while (at < bytes.length);
  }

  private label(suffix: string, end: number): void {
    this.u8(end);
    this.pos += this.buf.write(suffix.slice(0, end), this.pos, "latin1");
  }

  private remember(suffix: string, at: number): void {
    this.names.set(suffix, at);
    this.nameLog.push(suffix);
  }
}

function labelEnd(suffix: string): number {
  const dot = suffix.indexOf(".");
  return dot < 0 ? suffix.length : dot;
}
