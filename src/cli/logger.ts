/** The process logger: pino JSON on stdout, or pino-pretty for people. */
import { type Logger, pino } from "pino";

export function createLogger(level: string, format: "json" | "pretty"): Logger {
  if (format === "pretty") {
    return pino({
      level,
      transport: { target: "pino-pretty", options: { destination: 1, colorize: false } },
    });
  }
  return pino({ level, base: { app: "podns" } });
}
