/**
 * Static zones from RFC 1035 master files, read synchronously at start-up and reload, never on the query path.
 * dnsz joins parenthesised entries, strips comments, applies $ORIGIN and $TTL and resolves owner names; podns checks
 * record data (presentation.ts) and the zone rules. dnsz reports no line numbers and silently skips entries it cannot
 * read, so a locator walks the same text to give each record its line and to catch what dnsz misreads.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { type DnszDnsRecord, parseZone } from "dnsz";
import { QType, typeFromName, typeName } from "../dns/constants.js";
import { type Fqdn, fqdn, isSubdomain, NameError, ROOT } from "../dns/name.js";
import { formatRdata, PresentationError, parseRdata } from "../dns/presentation.js";
import type { Rr, SoaRecord } from "../dns/records.js";

export class ZoneFileError extends Error {
  override readonly name = "ZoneFileError";
  readonly code = "EZONEFILE";
  readonly file: string;
  /** 1-based; 0 when the problem belongs to the whole file. */
  readonly line: number;
  readonly reason: string;
  constructor(file: string, line: number, reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}

export interface ZoneFile {
  readonly file: string;
  readonly origin: Fqdn;
  /** In file order, the SOA included. */
  readonly records: readonly Rr[];
  readonly soa?: SoaRecord;
}

export interface LoadZoneOptions {
  /** Origin of a file without $ORIGIN; when absent, the file name without `.zone`. */
  readonly defaultOrigin?: Fqdn;
  /** TTL of records without one, before any $TTL. */
  readonly defaultTtl: number;
}

/**
 * Reads one master file. The zone origin is the $ORIGIN in effect at the first record; records before any $ORIGIN
 * are read under `defaultOrigin`, else under the file name without `.zone`.
 * @throws ZoneFileError naming the file and line of the first problem.
 */
export function loadZoneFile(path: string, opts: LoadZoneOptions): ZoneFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8").replace(/^\uFEFF/, "");
  } catch (err) {
    throw new ZoneFileError(path, 0, `cannot read: ${(err as Error).message}`);
  }
  const fallback = opts.defaultOrigin ?? originFromFileName(path);
  const layout = locateEntries(text, path, fallback);
  const found = readWithDnsz(text, path, layout.entries, fallback, opts.defaultTtl);
  const records: Rr[] = [];
  let owner: Fqdn | undefined;
  for (const [i, entry] of layout.entries.entries()) {
    owner = entry.owner === undefined ? owner : ownerName(entry.owner, entry, path);
    if (owner === undefined) throw new ZoneFileError(path, entry.line, "the first record has no owner name");
    const rr = toRr(found[i]!, owner, entry, path);
    if (!isSubdomain(rr.name, layout.origin)) {
      throw new ZoneFileError(path, entry.line, `${rr.name} is outside the zone ${layout.origin}`);
    }
    records.push(rr);
  }
  const soa = checkZoneRules(records, layout, path);
  return { file: path, origin: layout.origin, records, soa };
}

/** Every `*.zone` file in `dir`, in name order. Other names are ignored, such as a ConfigMap volume's `..data`. */
export function loadZoneDir(dir: string, opts: Pick<LoadZoneOptions, "defaultTtl">): ZoneFile[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".zone"));
  } catch (err) {
    throw new ZoneFileError(dir, 0, `cannot read directory: ${(err as Error).message}`);
  }
  const byOrigin = new Map<Fqdn, string>();
  return names.sort().map((name) => {
    const zone = loadZoneFile(join(dir, name), opts);
    const other = byOrigin.get(zone.origin);
    if (other !== undefined)
      throw new ZoneFileError(zone.file, 0, `zone ${zone.origin} is also loaded from ${other}`);
    byOrigin.set(zone.origin, zone.file);
    return zone;
  });
}

/**
 * A master file that `loadZoneFile` reads back to the same records: `$ORIGIN`, the SOA, then the other records
 * grouped by owner name in order of first appearance. Every line states its TTL because dnsz takes an owner name that
 * starts with a digit (`10-244-1-5`, reverse names) for the TTL when the TTL field is empty.
 */
export function formatZone(origin: Fqdn, records: readonly Rr[]): string {
  const byOwner = new Map<Fqdn, Rr[]>();
  for (const rr of records) {
    if (rr.type === QType.SOA) continue;
    const group = byOwner.get(rr.name);
    if (group === undefined) byOwner.set(rr.name, [rr]);
    else group.push(rr);
  }
  const ordered = [...records.filter((rr) => rr.type === QType.SOA), ...[...byOwner.values()].flat()];
  const owners = ordered.map((rr) => relativeName(rr.name, origin));
  const width = owners.reduce((w, o) => Math.max(w, o.length), 0);
  const lines = ordered.map(
    (rr, i) => `${owners[i]!.padEnd(width)} ${rr.ttl} IN ${typeName(rr.type)} ${formatRdata(rr)}`,
  );
  return `${[`$ORIGIN ${origin}`, ...lines].join("\n")}\n`;
}

function relativeName(name: Fqdn, origin: Fqdn): string {
  if (name === origin) return "@";
  if (origin !== ROOT && name.endsWith(`.${origin}`)) return name.slice(0, -origin.length - 1);
  return name;
}

function originFromFileName(path: string): Fqdn | undefined {
  const base = basename(path);
  if (!base.endsWith(".zone")) return undefined;
  try {
    return fqdn(base.slice(0, -".zone".length));
  } catch (err) {
    if (err instanceof NameError)
      throw new ZoneFileError(path, 0, `no origin in the file name: ${err.message}`);
    throw err;
  }
}

/** One record entry as written: its first line, its raw lines, and the $ORIGIN in effect. */
interface Entry {
  readonly line: number;
  readonly raw: string;
  /** The owner field; undefined when the line starts with a blank, meaning the previous owner (RFC 1035 5.1). */
  readonly owner: string | undefined;
  readonly origin: Fqdn;
}

interface Layout {
  /** The $ORIGIN in effect at the first record, or the first $ORIGIN of a file with no records. */
  readonly origin: Fqdn;
  readonly entries: readonly Entry[];
}

/**
 * Walks the text the way dnsz does, yielding each record entry in the same order: blank lines, comment lines and
 * `$` directives are skipped and parenthesised continuation lines joined to their entry.
 */
function locateEntries(text: string, file: string, fallback: Fqdn | undefined): Layout {
  const lines = text.split(/\r?\n/);
  const entries: Entry[] = [];
  let origin = fallback;
  let zoneOrigin: Fqdn | undefined;
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    const first = scanLine(lines[i]!, file, i + 1);
    if (first.content === "") continue;
    if (first.content.startsWith("$")) {
      origin = applyDirective(first.content, origin, file, i + 1);
      zoneOrigin ??= origin;
      continue;
    }
    if (origin === undefined) {
      throw new ZoneFileError(file, i + 1, "no origin: add $ORIGIN or name the file <origin>.zone");
    }
    zoneOrigin ??= origin;
    let depth = first.depth;
    while (depth > 0 && i + 1 < lines.length) depth += scanLine(lines[++i]!, file, i + 1).depth;
    if (depth !== 0) throw new ZoneFileError(file, start + 1, depth > 0 ? "unclosed (" : "unmatched )");
    const owner = /^\s/.test(lines[start]!) ? undefined : first.content.split(/\s/, 1)[0];
    entries.push({ line: start + 1, raw: lines.slice(start, i + 1).join("\n"), owner, origin });
  }
  zoneOrigin ??= fallback;
  if (zoneOrigin === undefined)
    throw new ZoneFileError(file, 0, "no origin: add $ORIGIN or name the file <origin>.zone");
  return { origin: zoneOrigin, entries };
}

/** The line without its comment, trimmed, and its net count of parentheses outside quoted strings. */
function scanLine(line: string, file: string, lineNo: number): { content: string; depth: number } {
  let depth = 0;
  let quoted = false;
  let end = line.length;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === ";") {
      end = i;
      break;
    }
  }
  if (quoted) throw new ZoneFileError(file, lineNo, "unterminated quoted string");
  return { content: line.slice(0, end).trim(), depth };
}

/** $ORIGIN and $TTL; anything else, $INCLUDE among them, is refused rather than skipped as dnsz would. */
function applyDirective(
  content: string,
  origin: Fqdn | undefined,
  file: string,
  line: number,
): Fqdn | undefined {
  const [directive = "", arg, ...rest] = content.split(/\s+/);
  const fail = (reason: string) => new ZoneFileError(file, line, reason);
  if (arg === undefined || rest.length > 0) throw fail(`${directive} takes exactly one argument`);
  switch (directive.toUpperCase()) {
    case "$ORIGIN":
      // dnsz would take a relative $ORIGIN as it stands rather than append the current origin.
      if (!arg.endsWith(".")) throw fail(`$ORIGIN ${arg} must be an absolute name, ending in a dot`);
      if (arg === ".") throw fail("the root zone cannot be served");
      try {
        return fqdn(arg);
      } catch (err) {
        if (err instanceof NameError) throw fail(`$ORIGIN: ${err.message}`);
        throw err;
      }
    case "$TTL":
      if (!/^(\d+[smhdw]?)+$/i.test(arg)) throw fail(`$TTL ${arg} is not a TTL such as 300 or 1h30m`);
      return origin;
    default:
      throw fail(`${directive} is not supported`);
  }
}

/** dnsz's records, one per entry; when the counts differ, the entry dnsz skipped is found by reading each alone. */
function readWithDnsz(
  text: string,
  file: string,
  entries: readonly Entry[],
  fallback: Fqdn | undefined,
  defaultTtl: number,
): DnszDnsRecord[] {
  // dnsz leaves relative names unresolved before the first $ORIGIN, so the fallback origin is given as one.
  const prefix = fallback === undefined ? "" : `$ORIGIN ${fallback}\n`;
  let records: DnszDnsRecord[];
  try {
    records = parseZone(prefix + text, { defaultTTL: defaultTtl }).records;
  } catch (err) {
    throw unreadableEntry(file, entries, defaultTtl) ?? new ZoneFileError(file, 0, `zone parser: ${err}`);
  }
  if (records.length === entries.length) return records;
  throw (
    unreadableEntry(file, entries, defaultTtl) ??
    new ZoneFileError(
      file,
      0,
      `dnsz read ${records.length} records but the file has ${entries.length} entries`,
    )
  );
}

function unreadableEntry(
  file: string,
  entries: readonly Entry[],
  defaultTtl: number,
): ZoneFileError | undefined {
  for (const entry of entries) {
    let count: number;
    try {
      count = parseZone(`$ORIGIN ${entry.origin}\n${entry.raw}`, { defaultTTL: defaultTtl }).records.length;
    } catch {
      count = 0;
    }
    if (count !== 1) {
      return new ZoneFileError(
        file,
        entry.line,
        "cannot read this record: expected [owner] [TTL] [IN] type rdata, with a TTL or IN when the owner is blank",
      );
    }
  }
  return undefined;
}

function ownerName(field: string, entry: Entry, file: string): Fqdn {
  try {
    return fqdn(field, entry.origin);
  } catch (err) {
    if (err instanceof NameError) throw new ZoneFileError(file, entry.line, `owner: ${err.message}`);
    throw err;
  }
}

/** Checks dnsz's reading of the entry's fields against the locator's, then parses the rdata. */
function toRr(found: DnszDnsRecord, owner: Fqdn, entry: Entry, file: string): Rr {
  const fail = (reason: string) => new ZoneFileError(file, entry.line, reason);
  const read = found.name === "." ? ROOT : `${found.name}.`;
  if (read !== owner) {
    const hint = /^\d/.test(entry.owner ?? "")
      ? "; an owner name starting with a digit needs an explicit TTL"
      : "";
    throw fail(`owner ${owner} was misread as ${read}${hint}`);
  }
  if (found.class !== "IN") {
    // Without a class, dnsz takes the type for the class when the rdata starts with a word: `@ SOA ns host ...`.
    if (typeFromName(found.class) !== undefined)
      throw fail(`write the class IN before the type ${found.class}`);
    throw fail(`class ${found.class} is not supported, only IN`);
  }
  if (/^(IN|CH|HS|CS)$/.test(found.type)) {
    throw fail(`expected [TTL] [IN] type rdata, in that order, but found ${found.type} ${found.content}`);
  }
  try {
    return parseRdata(owner, found.ttl, found.type, found.content, entry.origin);
  } catch (err) {
    if (err instanceof PresentationError) throw fail(err.message);
    throw err;
  }
}

/**
 * One SOA, at the origin (RFC 1035 section 5.2), and no other data at a CNAME's owner (RFC 1034 section 3.6.2).
 * Returns the SOA.
 */
function checkZoneRules(records: readonly Rr[], layout: Layout, file: string): SoaRecord | undefined {
  let soa: { rr: SoaRecord; line: number } | undefined;
  const firstAt = new Map<Fqdn, { type: number; line: number }>();
  for (const [i, rr] of records.entries()) {
    const line = layout.entries[i]!.line;
    const fail = (reason: string) => new ZoneFileError(file, line, reason);
    if (rr.type === QType.SOA) {
      if (rr.name !== layout.origin) throw fail(`SOA at ${rr.name}, not at the zone origin ${layout.origin}`);
      if (soa !== undefined) throw fail(`a second SOA (the first is at line ${soa.line})`);
      soa = { rr, line };
    }
    const first = firstAt.get(rr.name);
    if (first === undefined) firstAt.set(rr.name, { type: rr.type, line });
    else if (first.type === QType.CNAME || rr.type === QType.CNAME) {
      throw fail(
        `${typeName(rr.type)} beside ${typeName(first.type)} at line ${first.line} for ${rr.name}: a CNAME owner has no other data`,
      );
    }
  }
  return soa?.rr;
}
