/**
 * Throughput and latency of one server under the query mix.
 *
 * The zero-loss rate is found in two stages: an unthrottled run with 100 queries in flight gives the capacity C,
 * then a bisection over offered rates (`-Q`, 100 in flight) between 0.5 C and 1.25 C keeps the highest delivered
 * rate of a run that lost no query and delivered at least 97% of the offered rate. With 100 in flight a server
 * that falls behind shows as a shortfall rather than as loss; loss under bursts is what the latency run shows,
 * with 1,000 in flight.
 *
 * The machine may be shared: other processes' CPU time on the servers' CPU is measured over every run, and a run
 * disturbed by more than 2% of that CPU is repeated (a failed search step, a latency run), at most twice.
 */

import type { RunContext } from "./context.js";
import { dnsperf, type PerfOptions, type PerfResult } from "./dnsperf.js";
import { CLIENT_CPU, SERVER_CPU } from "./environment.js";
import { cpuBusySeconds, cpuSeconds, type Memory, memory } from "./procfs.js";
import type { Server } from "./servers.js";
import { ascending, percentile } from "./stats.js";
import { type UdpSocketStats, udpSocketStats } from "./udp-socket.js";

export interface Observed {
  readonly result: PerfResult;
  /** CPU seconds of the server per 100,000 answers. */
  readonly cpuPer100k: number;
  /** Share of the servers' CPU taken by other processes during the run, 0 to 1. */
  readonly disturbance: number;
  /** Busy share of the client CPU (dnsperf, the harness, anything else there), 0 to 1: near 1, dnsperf is the limit. */
  readonly clientBusy: number;
}

export interface Step extends Observed {
  readonly offered: number | undefined;
  readonly pass: boolean;
}

export interface Capacity {
  readonly server: string;
  /** Highest delivered rate of a passing step; 0 when none passed. */
  readonly zeroLossQps: number;
  readonly unthrottled: Observed;
  /** Every run, repeats included, in order. */
  readonly steps: readonly Step[];
}

export interface Latency extends Observed {
  readonly server: string;
  readonly offered: number;
  /** Seconds. */
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly memory: Memory;
  /** Datagrams the server's socket dropped during the run, and its buffer. */
  readonly socket: UdpSocketStats;
  readonly attempts: number;
}

const KEEP_UP = 0.97;
const DISTURBED = 0.02;
const ATTEMPTS = 3;
const SEARCH_IN_FLIGHT = 100;
const LATENCY_IN_FLIGHT = 1_000;
const WARM_UP_SECONDS = 2;

export async function findZeroLossRate(
  ctx: RunContext,
  server: Server,
  queryFile: string,
  stepSeconds: number,
  bisections: number,
): Promise<Capacity> {
  const steps: Step[] = [];
  const step = async (offered: number | undefined): Promise<Step> => {
    let last: Step | undefined;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const run = await observe(ctx, server, queryFile, {
        seconds: stepSeconds,
        rate: offered,
        outstanding: SEARCH_IN_FLIGHT,
      });
      const r = run.result;
      const pass = offered !== undefined && r.lost === 0 && r.qps >= KEEP_UP * offered;
      last = { ...run, offered, pass };
      steps.push(last);
      const what = offered === undefined ? "unthrottled" : `offered ${Math.round(offered)}/s`;
      const verdict = offered === undefined ? "" : pass ? " pass" : " FAIL";
      ctx.log(`${server.name}: ${what}: ${fmt(run)}${verdict}`);
      if (pass || run.disturbance <= DISTURBED) break;
    }
    return last!;
  };
  // Warm-up, not recorded: the JIT, podns's answer cache and the page cache settle before anything counts.
  await ctx.quiet.wait();
  await dnsperf(ctx.tools, server.port, queryFile, {
    seconds: WARM_UP_SECONDS,
    outstanding: SEARCH_IN_FLIGHT,
  });
  const unthrottled = await step(undefined);
  const capacity = Math.max(...steps.map((s) => s.result.qps));
  let lo = 0.5 * capacity;
  let hi = 1.25 * capacity;
  let best = 0;
  const tryRate = async (rate: number) => {
    const s = await step(rate);
    if (s.pass) best = Math.max(best, s.result.qps);
    return s.pass;
  };
  for (let i = 0; i < bisections; i++) {
    const mid = (lo + hi) / 2;
    if (await tryRate(mid)) lo = mid;
    else hi = mid;
  }
  // Nothing passed even at half the capacity: halve twice more before reporting zero.
  for (let rate = lo / 2; best === 0 && rate >= capacity / 8; rate /= 2) await tryRate(rate);
  return { server: server.name, zeroLossQps: best, unthrottled, steps };
}

/**
 * A fixed-rate run with per-answer latencies, 1,000 queries in flight at most; repeated when disturbed, keeping the
 * least disturbed run. CPU per query, memory and socket drops of the server over the same run.
 */
export async function measureLatency(
  ctx: RunContext,
  server: Server,
  queryFile: string,
  offered: number,
  seconds: number,
): Promise<Latency> {
  let best: Latency | undefined;
  let runs = 0;
  while (runs < ATTEMPTS) {
    runs++;
    const latencies: number[] = [];
    const dropsBefore = udpSocketStats(server.port).drops;
    const run = await observe(ctx, server, queryFile, {
      seconds,
      rate: offered,
      outstanding: LATENCY_IN_FLIGHT,
      onLatency: (s) => latencies.push(s),
    });
    const socket = udpSocketStats(server.port);
    const sorted = ascending(latencies);
    const latency: Latency = {
      ...run,
      server: server.name,
      offered,
      mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: sorted[sorted.length - 1] ?? Number.NaN,
      memory: memory(server.child.pid),
      socket: { ...socket, drops: socket.drops - dropsBefore },
      attempts: runs,
    };
    ctx.log(
      `${server.name}: latency at ${Math.round(offered)}/s: ${fmt(latency)}, p99 ${(latency.p99 * 1e3).toFixed(3)} ms`,
    );
    if (best === undefined || latency.disturbance < best.disturbance) best = latency;
    if (latency.disturbance <= DISTURBED) break;
  }
  return { ...best!, attempts: runs };
}

/**
 * One dnsperf run, once the machine is quiet, with the server's CPU time and other processes' time on the server
 * CPU around it.
 */
async function observe(
  ctx: RunContext,
  server: Server,
  queryFile: string,
  opts: PerfOptions,
): Promise<Observed> {
  await ctx.quiet.wait();
  const began = performance.now();
  const cpuBefore = cpuSeconds(server.child.pid);
  const busyBefore = cpuBusySeconds(SERVER_CPU);
  const clientBefore = cpuBusySeconds(CLIENT_CPU);
  const result = await dnsperf(ctx.tools, server.port, queryFile, opts);
  const serverCpu = cpuSeconds(server.child.pid) - cpuBefore;
  const others = cpuBusySeconds(SERVER_CPU) - busyBefore - serverCpu;
  const wall = (performance.now() - began) / 1000;
  return {
    result,
    cpuPer100k: (serverCpu / Math.max(1, result.completed)) * 100_000,
    disturbance: Math.max(0, others) / wall,
    clientBusy: (cpuBusySeconds(CLIENT_CPU) - clientBefore) / wall,
  };
}

function fmt(o: Observed): string {
  const r = o.result;
  return (
    `${Math.round(r.qps)} qps, ${r.lost} lost of ${r.sent}, mean ${(r.meanLatency * 1e3).toFixed(3)} ms, ` +
    `others ${(o.disturbance * 100).toFixed(1)}% of CPU ${SERVER_CPU}, CPU ${CLIENT_CPU} ` +
    `${(o.clientBusy * 100).toFixed(0)}% busy`
  );
}
