/**
 * Propagation of EndpointSlice changes: one endpoint of a Service moves to a fresh address through the fake API
 * server, and a raw UDP query for the new per-pod name is repeated back to back until podns answers it. The time
 * from the change being applied to that answer covers the watch event, conversion, the coalesced rebuild and the
 * swap of the snapshot. Changes are made one at a time, each bounded in time.
 */
import { DnsProbe, QTYPE } from "./dns-probe.js";
import { ascending, percentile } from "./stats.js";
import { podName, type SyntheticCluster } from "./synthetic-cluster.js";

/** Seconds one change may take to show before it counts as not propagated. */
const CHANGE_TIMEOUT = 10;
/**
 * Milliseconds to wait for one poll's answer before sending the next. Long enough that a poll sent just before
 * podns blocks (converting the event, rebuilding the snapshot) waits it out, so the longest wait shows how long
 * queries go unanswered while a change is applied.
 */
const POLL_TIMEOUT = 2_000;

export interface Propagation {
  readonly changes: number;
  readonly timedOut: number;
  /** Seconds. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
  /** Queries sent while waiting, per change. */
  readonly pollsPerChange: number;
  /** Seconds: the longest wait for the answer to one poll, over all changes. */
  readonly longestPollWait: number;
}

export async function measurePropagation(
  cluster: SyntheticCluster,
  port: number,
  changes: number,
): Promise<Propagation> {
  const probe = await DnsProbe.open(port);
  const times: number[] = [];
  let timedOut = 0;
  let polls = 0;
  let longestPollWait = 0;
  try {
    for (let i = 0; i < changes; i++) {
      // Spread the changes over Services and endpoints; 7,919 is prime, so consecutive changes hit different ones.
      const s = (i * 7_919) % cluster.size.services;
      const e = i % cluster.size.endpoints;
      const began = performance.now();
      const address = cluster.replaceEndpoint(s, e);
      const name = podName(s, address);
      const deadline = began + CHANGE_TIMEOUT * 1000;
      let seen = false;
      while (!seen && performance.now() < deadline) {
        polls++;
        const sent = performance.now();
        const reply = await probe.query(name, QTYPE.A, POLL_TIMEOUT);
        longestPollWait = Math.max(longestPollWait, (performance.now() - sent) / 1000);
        seen = reply?.rcode === 0 && reply.answers.includes(`A ${address}`);
      }
      if (seen) times.push((performance.now() - began) / 1000);
      else timedOut++;
    }
  } finally {
    probe.close();
  }
  const sorted = ascending(times);
  return {
    changes,
    timedOut,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
    pollsPerChange: polls / changes,
    longestPollWait,
  };
}
