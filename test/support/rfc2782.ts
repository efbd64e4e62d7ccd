/**
 * The target selection of an RFC 2782 client (RFC 2782, "Usage rules"), as Go's net.LookupSRV and Envoy do it: the
 * lowest priority first, and within a priority a weighted random order, each pick with probability proportional to
 * its 16-bit weight.
 */

export interface SrvTarget {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/**
 * Orders `records` for connection attempts. Within a priority, repeatedly: zero weights first, running sums of the
 * weights, a uniform integer from 0 to the sum inclusive, and the first record whose running sum reaches it.
 */
export function orderRfc2782<T extends SrvTarget>(records: readonly T[], random: () => number): T[] {
  const priorities = [...new Set(records.map((r) => r.priority))].sort((a, b) => a - b);
  const out: T[] = [];
  for (const priority of priorities) {
    const left = records.filter((r) => r.priority === priority);
    while (left.length > 0) {
      left.sort((a, b) => Number(a.weight !== 0) - Number(b.weight !== 0));
      const sum = left.reduce((s, r) => s + r.weight, 0);
      const draw = Math.floor(random() * (sum + 1));
      let running = 0;
      const index = left.findIndex((r) => {
        running += r.weight;
        return running >= draw;
      });
      out.push(...left.splice(index, 1));
    }
  }
  return out;
}
