/** Writes a snapshot's zones as RFC 1035 master files (`podns export-zone`, and the benchmark's NSD reference). */
import type { Fqdn } from "../dns/name.js";
import type { Rr } from "../dns/records.js";
import type { Snapshot } from "./snapshot.js";
import { formatZone } from "./zonefile.js";

/** Every record of one served zone, the SOA first; names below a nested served zone belong to that zone. */
export function zoneRecords(snap: Snapshot, apex: Fqdn): Rr[] {
  const zone = snap.zones.get(apex);
  if (zone === undefined) throw new Error(`not a served zone: ${apex}`);
  const out: Rr[] = [zone.soa];
  for (const [name, node] of snap.nodes) {
    if (snap.zoneOf(name)?.apex !== apex) continue;
    for (const set of node.values()) if (set.type !== zone.soa.type) out.push(...set.records);
  }
  return out;
}

/** The master file of one served zone. */
export function exportZone(snap: Snapshot, apex: Fqdn): string {
  return formatZone(apex, zoneRecords(snap, apex));
}
