/**
 * Heap figures of a podns started with the heap probe preloaded (heap-probe.ts): podns itself exports no heap
 * metrics, so the probe answers SIGUSR2 with process.memoryUsage() after a full garbage collection.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";

export interface HeapUsage {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/** Asks the heap probe for a full collection and process.memoryUsage(); bounded to 120 s (a heap snapshot is slow). */
export async function readHeap(pid: number, file: string): Promise<HeapUsage | undefined> {
  rmSync(file, { force: true });
  process.kill(pid, "SIGUSR2");
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (!existsSync(file)) continue;
    try {
      return JSON.parse(readFileSync(file, "utf8")) as HeapUsage;
    } catch {
      // Still being written.
    }
  }
  return undefined;
}
