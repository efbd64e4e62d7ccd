/**
 * Preloaded into podns (`node --expose-gc --import heap-probe.js`) by the memory runs only, since podns does not
 * export heap figures: on SIGUSR2 it runs a full garbage collection and writes process.memoryUsage() as JSON to
 * the file named by BENCH_HEAP_FILE. Nothing runs until the signal arrives.
 */
import { writeFileSync } from "node:fs";

const file = process.env.BENCH_HEAP_FILE;
if (file !== undefined) {
  process.on("SIGUSR2", () => {
    (globalThis as { gc?: () => void }).gc?.();
    writeFileSync(file, JSON.stringify(process.memoryUsage()));
  });
}
