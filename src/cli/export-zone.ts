/**
 * `podns export-zone`: loads the same sources as `serve`, waits for the first complete sync, and writes every served
 * zone as an RFC 1035 master file, to standard output or as `<zone>.zone` files in a folder.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { StartupError } from "../config/errors.js";
import type { ServeConfig } from "../config/serve-config.js";
import type { Fqdn } from "../dns/name.js";
import { Podns } from "../server/podns.js";
import { exportZone } from "../zone/export.js";
import { createLogger } from "./logger.js";

export interface ExportOptions {
  /** Folder for one `<zone>.zone` file per zone; standard output when undefined. */
  readonly output: string | undefined;
  /** Seconds to wait for the first sync before giving up. */
  readonly timeout: number;
}

export async function exportZones(config: ServeConfig, opts: ExportOptions): Promise<void> {
  const podns = new Podns(config, createLogger(config.logLevel, config.logFormat));
  try {
    await podns.startSources();
    const timer = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new StartupError(`no complete sync within ${opts.timeout} s`)),
        opts.timeout * 1000,
      ).unref(),
    );
    await Promise.race([podns.synced(), timer]);
    const snap = podns.store.current;
    const apexes = [...snap.zones.keys()].sort();
    if (opts.output === undefined) {
      process.stdout.write(apexes.map((apex) => exportZone(snap, apex)).join("\n"));
      return;
    }
    mkdirSync(opts.output, { recursive: true });
    for (const apex of apexes) writeFileSync(path.join(opts.output, fileName(apex)), exportZone(snap, apex));
  } finally {
    await podns.stop();
  }
}

function fileName(apex: Fqdn): string {
  return `${apex.slice(0, -1)}.zone`;
}
