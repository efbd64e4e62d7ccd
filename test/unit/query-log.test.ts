/**
 * Sampled query logging: one uniform draw per answered query decides; at 0 there is no draw and no line. Every
 * answered query's duration goes to the histogram whether it is logged or not.
 */

import type { Logger } from "pino";
import { describe, expect, it } from "vitest";
import { QueryLog } from "../../src/server/query-log.js";

/** A DNS query for `web.demo.` type A (RFC 1035 4.1): header, qname labels, qtype, qclass; and a NOERROR header. */
const QUERY = Buffer.from("123401000001000000000000" + "03776562" + "0464656d6f00" + "00010001", "hex");
const ANSWER = Buffer.from("123485000001000000000000", "hex");

function harness(sample: number, draws: number[]) {
  const lines: Record<string, unknown>[] = [];
  const durations: number[] = [];
  let drawn = 0;
  const log = { info: (fields: Record<string, unknown>, msg: string) => lines.push({ ...fields, msg }) };
  const random = () => {
    drawn++;
    return draws.shift() ?? 0.5;
  };
  const q = new QueryLog(
    { duration: (_t, s) => durations.push(s) },
    log as unknown as Logger,
    sample,
    random,
  );
  return { q, lines, durations, drawn: () => drawn };
}

describe("QueryLog", () => {
  it("logs the queries whose draw falls below the fraction, with what was asked and answered", () => {
    const h = harness(0.25, [0.1, 0.3, 0.24, 0.9]);
    for (let i = 0; i < 4; i++) h.q.answered(QUERY, ANSWER, "udp", "10.0.0.1", 0.00002);
    expect(h.lines).toEqual([
      {
        msg: "query",
        client: "10.0.0.1",
        transport: "udp",
        qname: "web.demo.",
        qtype: "A",
        rcode: "NOERROR",
        bytes: 12,
        seconds: 0.00002,
      },
      expect.objectContaining({ msg: "query" }),
    ]);
    expect(h.durations).toHaveLength(4);
  });

  it("makes no draw and logs nothing at 0, while still timing every query", () => {
    const h = harness(0, []);
    for (let i = 0; i < 100; i++) h.q.answered(QUERY, ANSWER, "tcp", "10.0.0.1", 0.001);
    expect(h.drawn()).toBe(0);
    expect(h.lines).toEqual([]);
    expect(h.durations).toHaveLength(100);
  });

  it("logs every query at 1", () => {
    const h = harness(1, [0.999_999, 0, 0.5]);
    for (let i = 0; i < 3; i++) h.q.answered(QUERY, ANSWER, "udp", "10.0.0.1", 0.001);
    expect(h.lines).toHaveLength(3);
  });

  it("logs a message that is not a well-formed query with its rcode and no name", () => {
    const h = harness(1, []);
    const formerr = Buffer.from("123485010000000000000000", "hex");
    h.q.answered(Buffer.from("123401000001000000000000", "hex"), formerr, "udp", "10.0.0.1", 0.00001);
    expect(h.lines).toEqual([
      expect.objectContaining({ rcode: "FORMERR", qname: undefined, qtype: undefined }),
    ]);
  });

  it("logs BADVERS, an extended rcode whose header bits read NOERROR, with the question's qtype", () => {
    const h = harness(1, []);
    // web.demo. A with an OPT record of EDNS version 1 (RFC 6891 section 6.1.3).
    const query = Buffer.from(
      `${"123401000001000000000001"}037765620464656d6f0000010001${"0000291000000100000000"}`,
      "hex",
    );
    // The answer's header rcode bits are 0; the upper bits (1, so 16 = BADVERS) are in its OPT record.
    const badvers = Buffer.from(
      `${"123481000001000000000001"}037765620464656d6f0000010001${"0000291000010000000000"}`,
      "hex",
    );
    h.q.answered(query, badvers, "udp", "10.0.0.1", 0.00001);
    expect(h.lines).toEqual([expect.objectContaining({ rcode: "BADVERS", qname: undefined, qtype: "A" })]);
  });
});
