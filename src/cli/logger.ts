/** The process logger: pino JSON on stdout, or pino-pretty for people. */
import { type Logger, pino } from "pino";

export function createLogger(level: string, format: "json" | "pretty"): Logger {
  if (format === "pretty") {
    return pino({
      level,
      transport: { target: "pino-pretty", options: { destination: 1, colorize: false } },
    });
  }
  // Synchronous writes: nothing is buffered, so nothing is lost on exit and nothing is left to flush. A stdout
  // whose reader is gone (`podns serve | head`) turns logging off instead of stalling the process in a retry loop.
  const destination = pino.destination({ dest: 1, sync: true });
  destination.on("error", () => {
    destination.write = () => true;
  });
  return pino({ level, base: { app: "podns" } }, destination);
}
