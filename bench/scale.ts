/**
 * Scale runs: for each cluster size, a fresh fake API server and a fresh podns (with the heap probe preloaded).
 * Measures the time from starting podns to its first answer from the synced cluster, the CPU it spent on that,
 * its memory right after the sync and after a full garbage collection, and the propagation of EndpointSlice
 * changes at that size (the cost of one change grows with what a rebuild touches).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { FakeApiServer } from "../test/support/fake-apiserver.js";
import type { RunContext } from "./context.js";
import { type HeapUsage, readHeap } from "./heap.js";
import type { ClusterSize } from "./options.js";
import { cpuSeconds, type Memory, memory } from "./procfs.js";
import { measurePropagation, type Propagation } from "./propagation.js";
import { startPodns } from "./servers.js";
import { SyntheticCluster, serviceName } from "./synthetic-cluster.js";

export interface ScaleResult {
  readonly size: ClusterSize;
  /** Services, EndpointSlices and Pods in the API server. */
  readonly objects: number;
  readonly startSeconds: number;
  readonly syncCpuSeconds: number;
  readonly afterSync: Memory;
  readonly afterGc: Memory;
  /** process.memoryUsage() inside podns after a full collection; undefined if the probe did not answer. */
  readonly heap: HeapUsage | undefined;
  readonly propagation: Propagation;
}

/** Seconds podns may take to sync the largest cluster. */
const SYNC_TIMEOUT = 600;

export async function scaleRun(
  ctx: RunContext,
  dir: string,
  size: ClusterSize,
  changes: number,
): Promise<ScaleResult> {
  const { tools, log } = ctx;
  mkdirSync(dir, { recursive: true });
  const fake = await FakeApiServer.start();
  try {
    const cluster = new SyntheticCluster(fake, size);
    cluster.populate();
    const objects = cluster.objectCount();
    const kubeconfig = await fake.writeKubeconfig(dir);
    const heapFile = path.join(dir, "heap.json");
    const label = `${size.services} x ${size.endpoints}`;
    log(`scale ${label}: ${objects} objects in the API server, starting podns`);
    await ctx.quiet.wait();
    const podns = await startPodns(tools, kubeconfig, serviceName(size.services - 1), {
      heapFile,
      timeoutSeconds: SYNC_TIMEOUT,
    });
    try {
      const syncCpuSeconds = cpuSeconds(podns.child.pid);
      const afterSync = memory(podns.child.pid);
      const heap = await readHeap(podns.child.pid, heapFile);
      const afterGc = memory(podns.child.pid);
      log(`scale ${label}: answering after ${podns.startSeconds.toFixed(2)} s; measuring ${changes} changes`);
      await ctx.quiet.wait();
      const propagation = await measurePropagation(cluster, podns.port, changes);
      if (!podns.child.isRunning()) throw new Error(`${await podns.child.exited}\n${podns.child.output()}`);
      return {
        size,
        objects,
        startSeconds: podns.startSeconds,
        syncCpuSeconds,
        afterSync,
        afterGc,
        heap,
        propagation,
      };
    } finally {
      await podns.child.stop();
    }
  } finally {
    await fake.stop();
  }
}
