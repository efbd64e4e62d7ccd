/**
 * podns, NSD and the bare Node.js responder on the same cluster and the same query file: podns watches the fake
 * API server, NSD serves what `podns export-zone` wrote from it, and each is driven by dnsperf in turn while the
 * others sit idle. Then the propagation of changes on the same podns.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { FakeApiServer } from "../test/support/fake-apiserver.js";
import { type Agreement, compareAnswers } from "./agreement.js";
import type { RunContext } from "./context.js";
import { type HeapUsage, readHeap } from "./heap.js";
import type { BenchOptions } from "./options.js";
import { type Memory, memory } from "./procfs.js";
import { measurePropagation, type Propagation } from "./propagation.js";
import { type Category, makeQueries, shares, writeQueryFile } from "./query-mix.js";
import { exportZones, type Server, startBareResponder, startNsd, startPodns } from "./servers.js";
import { SyntheticCluster, serviceName } from "./synthetic-cluster.js";
import { type Capacity, findZeroLossRate, type Latency, measureLatency } from "./throughput.js";

export interface SideBySide {
  readonly objects: number;
  readonly names: { services: number; pods: number };
  readonly mix: Record<Category, number>;
  readonly queryLines: number;
  readonly zoneFiles: readonly string[];
  readonly agreement: Agreement;
  /** podns, NSD, bare Node.js, in that order. */
  readonly capacity: readonly Capacity[];
  readonly latencyRate: number;
  readonly latency: readonly Latency[];
  readonly propagation: Propagation;
  /** podns after every run, propagation included; the heap after a full collection. */
  readonly podnsMemoryAtEnd: Memory;
  readonly podnsHeapAtEnd: HeapUsage | undefined;
}

/** Queries of the mix compared between podns and NSD before any load. */
const AGREEMENT_SAMPLE = 500;

export async function sideBySide(ctx: RunContext, dir: string, opts: BenchOptions): Promise<SideBySide> {
  const { tools, log } = ctx;
  mkdirSync(dir, { recursive: true });
  const fake = await FakeApiServer.start();
  const servers: Server[] = [];
  try {
    const cluster = new SyntheticCluster(fake, opts.cluster);
    cluster.populate();
    const kubeconfig = await fake.writeKubeconfig(dir);
    const queries = makeQueries(cluster);
    const queryFile = path.join(dir, "queries.txt");
    writeQueryFile(queryFile, queries);
    const probeName = serviceName(opts.cluster.services - 1);
    log(`side by side: ${cluster.objectCount()} objects; starting podns`);
    const heapFile = path.join(dir, "heap.json");
    const podns = await startPodns(tools, kubeconfig, probeName, { heapFile, timeoutSeconds: 600 });
    servers.push(podns);
    const zoneDir = path.join(dir, "zones");
    mkdirSync(zoneDir);
    const zoneFiles = await exportZones(kubeconfig, zoneDir);
    log(`exported ${zoneFiles.join(", ")}; starting NSD and the bare responder`);
    const nsd = await startNsd(tools, zoneDir, zoneFiles, probeName);
    servers.push(nsd);
    servers.push(await startBareResponder(tools, probeName));
    const agreement = await compareAnswers(podns, nsd, queries.slice(0, AGREEMENT_SAMPLE));
    log(`answers: ${agreement.agree} of ${agreement.compared} agree between podns and NSD`);
    const capacity: Capacity[] = [];
    for (const server of servers) {
      capacity.push(await findZeroLossRate(ctx, server, queryFile, opts.stepSeconds, opts.searchSteps));
      assertRunning(server);
    }
    const podnsPeak = capacity[0]!.zeroLossQps || capacity[0]!.unthrottled.result.qps;
    const latencyRate = Math.round(podnsPeak / 2);
    const latency: Latency[] = [];
    for (const server of servers) {
      latency.push(await measureLatency(ctx, server, queryFile, latencyRate, opts.latencySeconds));
      assertRunning(server);
    }
    log(`propagation: ${opts.changes} EndpointSlice changes`);
    await ctx.quiet.wait();
    const propagation = await measurePropagation(cluster, podns.port, opts.changes);
    assertRunning(podns);
    const podnsMemoryAtEnd = memory(podns.child.pid);
    return {
      objects: cluster.objectCount(),
      names: { services: opts.cluster.services, pods: opts.cluster.services * opts.cluster.endpoints },
      mix: shares(queries),
      queryLines: queries.length,
      zoneFiles,
      agreement,
      capacity,
      latencyRate,
      latency,
      propagation,
      podnsMemoryAtEnd,
      podnsHeapAtEnd: await readHeap(podns.child.pid, heapFile),
    };
  } finally {
    for (const server of servers) await server.child.stop();
    await fake.stop();
  }
}

/** A server that died under load is a finding, not a number: stop with what it printed. */
function assertRunning(server: Server): void {
  if (!server.child.isRunning()) {
    throw new Error(`${server.name} is no longer running\n${server.child.output()}`);
  }
}
