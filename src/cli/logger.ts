/** The process logger: pino JSON on stdout, or pino-pretty for people. */
import { type Logger, pino } from "pino";

/** Bytes of log lines held while stdout is slow; past this, lines are dropped rather than the server stalled. */
const LOG_BUFFER = 4 * 1024 * 1024;

type Destination = ReturnType<typeof pino.destination>;
const destinations = new WeakMap<Logger, Destination>();

/**
 * Writes are asynchronous with a bounded buffer: a DNS server must never wait on its log, so a slow reader of stdout
 * (a stalled collector, `podns serve | less`) costs log lines, not answers. A reader that is gone turns logging off.
 */
export function createLogger(level: string, format: "json" | "pretty"): Logger {
  if (format === "pretty") {
    return pino({
      level,
      transport: { target: "pino-pretty", options: { destination: 1, colorize: false } },
    });
  }
  const destination = pino.destination({ dest: 1, sync: false, maxLength: LOG_BUFFER });
  const silence = () => {
    destination.write = () => true;
    destination.flushSync = () => {};
  };
  destination.on("error", silence);
  const log = pino({ level, base: { app: "podns" } }, destination);
  destinations.set(log, destination);
  return log;
}

/**
 * Writes out what is buffered, waiting at most `seconds`, then stops writing, so that exiting cannot block on a
 * stdout nobody reads (pino flushes synchronously on exit, and would retry such a pipe forever).
 */
export async function closeLogger(log: Logger, seconds: number): Promise<void> {
  const destination = destinations.get(log);
  if (destination === undefined) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, seconds * 1000);
    destination.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  destination.write = () => true;
  destination.flushSync = () => {};
}
