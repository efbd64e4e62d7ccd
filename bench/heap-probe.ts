/**
 * Preloaded into podns (`node --expose-gc --import heap-probe.js`) by the memory runs only, since podns does not
 * export heap figures: on SIGUSR2 it runs a full garbage collection and writes process.memoryUsage() as JSON to
 * the file named by BENCH_HEAP_FILE, and, when BENCH_HEAP_SNAPSHOT names a file, a V8 heap snapshot there (before
 * the JSON, so that the JSON's appearance means both are written). Nothing runs until the signal arrives.
 */
import { writeFileSync } from "node:fs";
import v8 from "node:v8";

const file = process.env.BENCH_HEAP_FILE;
const snapshot = process.env.BENCH_HEAP_SNAPSHOT;
if (file !== undefined) {
  process.on("SIGUSR2", () => {
    (globalThis as { gc?: () => void }).gc?.();
    const usage = process.memoryUsage();
    if (snapshot) v8.writeHeapSnapshot(snapshot);
    writeFileSync(file, JSON.stringify(usage));
  });
}
