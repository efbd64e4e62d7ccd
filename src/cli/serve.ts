/** `podns serve`: runs podns until SIGTERM or SIGINT; SIGHUP re-reads the file sources. */
import { StartupError } from "../config/errors.js";
import type { ServeConfig } from "../config/serve-config.js";
import { Podns } from "../server/podns.js";
import { closeLogger, createLogger } from "./logger.js";

/** Seconds a shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE = 5;

export async function serve(config: ServeConfig): Promise<void> {
  const log = createLogger(config.logLevel, config.logFormat);
  const podns = new Podns(config, log);
  // A log reader that went away (`podns serve | head`) must not take the server down or stall its shutdown.
  process.stdout.on("error", () => {});
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    // Held (not unref'd): if stopping stalls, for instance on a log pipe whose reader is gone, exit anyway.
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE * 1000);
    podns.stop().then(
      async () => {
        log.info("stopped");
        await closeLogger(log, 1);
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGHUP", () => {
    log.info("SIGHUP: reloading sources");
    podns.reload();
  });
  try {
    await podns.start();
  } catch (err) {
    await podns.stop();
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    if (e.code === "EADDRINUSE" || e.code === "EADDRNOTAVAIL" || e.code === "EACCES") {
      throw new StartupError(`cannot listen on ${e.address}:${e.port}: ${e.code}`);
    }
    throw err;
  }
}
