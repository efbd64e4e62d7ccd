/**
 * Checks that podns and NSD give the same answers before their speed is compared: rcode and answer records (A
 * and SRV data, order ignored) for a sample of the query mix. Truncated answers are skipped, since servers may
 * choose different records to leave out.
 */
import { DnsProbe, QTYPE, type Reply } from "./dns-probe.js";
import type { Query } from "./query-mix.js";

export interface Agreement {
  readonly compared: number;
  readonly agree: number;
  readonly truncated: number;
  readonly unanswered: number;
  /** Up to five disagreements, described. */
  readonly examples: string[];
}

export async function compareAnswers(
  a: { name: string; port: number },
  b: { name: string; port: number },
  sample: readonly Query[],
): Promise<Agreement> {
  const [pa, pb] = await Promise.all([DnsProbe.open(a.port), DnsProbe.open(b.port)]);
  let agree = 0;
  let truncated = 0;
  let unanswered = 0;
  const examples: string[] = [];
  try {
    for (const q of sample) {
      const ra = await pa.query(q.name, QTYPE[q.type], 1_000);
      const rb = await pb.query(q.name, QTYPE[q.type], 1_000);
      if (ra === undefined || rb === undefined) unanswered++;
      else if (ra.truncated || rb.truncated) truncated++;
      else if (same(ra, rb)) agree++;
      else if (examples.length < 5) {
        examples.push(`${q.name} ${q.type}: ${a.name} ${describe(ra)}; ${b.name} ${describe(rb)}`);
      }
    }
  } finally {
    pa.close();
    pb.close();
  }
  return { compared: sample.length, agree, truncated, unanswered, examples };
}

function same(x: Reply, y: Reply): boolean {
  return x.rcode === y.rcode && [...x.answers].sort().join("|") === [...y.answers].sort().join("|");
}

function describe(r: Reply): string {
  return `rcode ${r.rcode} [${[...r.answers].sort().join(", ")}]`;
}
