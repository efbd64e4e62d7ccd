/**
 * Reads the server blocks of a CoreDNS Corefile: enough of its grammar (`ZONE[:PORT]... {`, one directive a line,
 * nested blocks, `#` comments) to tell which zone goes where.
 */

export interface ServerBlock {
  /** The keys before `{`, as written: `podns.cluster.local:53`, `.:53`. */
  readonly keys: readonly string[];
  /** Top-level directives of the block, each as its words (`["forward", ".", "10.96.0.53"]`). */
  readonly directives: readonly (readonly string[])[];
}

/** @throws Error when the braces do not balance. */
export function serverBlocks(corefile: string): ServerBlock[] {
  const blocks: ServerBlock[] = [];
  let current: { keys: string[]; directives: string[][] } | undefined;
  let depth = 0;
  for (const [i, raw] of corefile.split("\n").entries()) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const words = line.split(/\s+/);
    const opens = line.endsWith("{");
    const closes = line === "}";
    if (depth === 0) {
      if (!opens)
        throw new Error(`Corefile line ${i + 1}: expected a server block, got ${JSON.stringify(line)}`);
      current = { keys: words.slice(0, -1), directives: [] };
      blocks.push(current);
    } else if (depth === 1 && !closes) {
      current?.directives.push(opens ? words.slice(0, -1) : words);
    }
    if (opens) depth++;
    if (closes) depth--;
    if (depth < 0) throw new Error(`Corefile line ${i + 1}: unbalanced "}"`);
  }
  if (depth !== 0) throw new Error("Corefile: unclosed block");
  return blocks;
}

/** The zone and port of a server block key (`podns.cluster.local:53` -> zone with trailing dot, 53). */
export function zoneOfKey(key: string): { zone: string; port: number } {
  const m = /^(?:dns:\/\/)?([^:]+)(?::(\d+))?$/.exec(key);
  if (!m) throw new Error(`not a Corefile zone key: ${JSON.stringify(key)}`);
  const name = m[1] as string;
  return { zone: name.endsWith(".") ? name : `${name}.`, port: m[2] === undefined ? 53 : Number(m[2]) };
}
