/**
 * What the listeners report for each answered message: its time in the handler, for the duration histogram, and
 * for a sampled fraction of queries (`--query-log-sample`) one log line. The sampling is decided once per query by
 * one uniform draw; at 0 no draw is made and nothing is logged, so a query costs one comparison here.
 */
import type { Logger } from "pino";
import { rcodeName, typeName } from "../dns/constants.js";
import { decodeQuery } from "../dns/query.js";
import type { Random } from "../dns/shuffle.js";
import type { Transport } from "./handler.js";

export interface ExchangeObserver {
  /** `msg` from `client` was answered with `out` after `seconds` in the handler. Cheap; never throws. */
  answered(msg: Buffer, out: Buffer, transport: Transport, client: string, seconds: number): void;
}

export interface DurationSink {
  duration(transport: Transport, seconds: number): void;
}

export class QueryLog implements ExchangeObserver {
  constructor(
    private readonly durations: DurationSink,
    private readonly log: Logger,
    /** Fraction of queries logged, 0..1. */
    private readonly sample: number,
    private readonly random: Random = Math.random,
  ) {}

  answered(msg: Buffer, out: Buffer, transport: Transport, client: string, seconds: number): void {
    this.durations.duration(transport, seconds);
    if (this.sample > 0 && this.random() < this.sample) {
      try {
        this.write(msg, out, transport, client, seconds);
      } catch {
        // A log line is not worth a listener.
      }
    }
  }

  /** One line per sampled query. The question is decoded again here, off the path of unsampled queries. */
  private write(msg: Buffer, out: Buffer, transport: Transport, client: string, seconds: number): void {
    const decoded = decodeQuery(msg);
    const query = decoded.kind === "query" ? decoded.query : undefined;
    const qtype = query?.qtype ?? (decoded.kind === "error" ? decoded.qtype : 0);
    this.log.info(
      {
        client,
        transport,
        qname: query?.qname,
        qtype: qtype === 0 ? undefined : typeName(qtype),
        // An error answer's rcode as decided, which may be extended (BADVERS lives partly in the OPT record).
        rcode: rcodeName(decoded.kind === "error" ? decoded.rcode : out[3]! & 0xf),
        bytes: out.length,
        seconds,
      },
      "query",
    );
  }
}
