/** `podns check-zone FILE...`: loads each zone file as `serve` would and reports its records, or the first problem. */
import { StartupError } from "../config/errors.js";
import { typeName } from "../dns/constants.js";
import { loadZoneFile, ZoneFileError } from "../zone/zonefile.js";

/** @throws StartupError (exit status 2) naming the file and line of the first problem. */
export function checkZone(files: readonly string[], ttl: number): void {
  for (const file of files) {
    try {
      const zone = loadZoneFile(file, { defaultTtl: ttl });
      const counts = new Map<string, number>();
      for (const rr of zone.records) counts.set(typeName(rr.type), (counts.get(typeName(rr.type)) ?? 0) + 1);
      const summary = [...counts].map(([t, n]) => `${n} ${t}`).join(", ");
      process.stdout.write(`${file}: zone ${zone.origin} OK: ${zone.records.length} records (${summary})\n`);
    } catch (err) {
      if (err instanceof ZoneFileError) throw new StartupError(err.reason, err.file, err.line);
      throw err;
    }
  }
}
