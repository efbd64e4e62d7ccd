/**
 * The presentation form of resource records (RFC 1035 section 5.1): one record per line, `name ttl IN TYPE rdata`.
 * Tests write expected answers in this form and the zone loader parses record data with it, so parsing is strict:
 * every field is range-checked and every failure names the field.
 */
import { isIPv6 } from "node:net";
import { canonicalIpv6 } from "./address.js";
import { QType, typeFromName, typeName } from "./constants.js";
import { type Fqdn, fqdn, NameError, ROOT } from "./name.js";
import type { Rr } from "./records.js";

export class PresentationError extends Error {
  override readonly name = "PresentationError";
  readonly code = "EPRESENTATION";
  /** The field at fault, e.g. `SRV port`, `TXT string 2`, `TTL`. */
  readonly field: string;
  constructor(field: string, detail: string) {
    super(`${field}: ${detail}`);
    this.field = field;
  }
}

/** TTLs are 31-bit: RFC 2181 section 8. */
const MAX_TTL = 0x7fffffff;
const U16 = 0xffff;
const U32 = 0xffffffff;
/** RFC 1035 section 3.3: a character-string is a length octet followed by that many octets. */
const MAX_CHARACTER_STRING = 255;

export function formatRr(rr: Rr): string {
  return `${rr.name} ${rr.ttl} IN ${typeName(rr.type)} ${formatRdata(rr)}`;
}

export function formatRrs(rrs: readonly Rr[]): string[] {
  return rrs.map(formatRr);
}

/** The rdata fields alone; names are absolute. */
export function formatRdata(rr: Rr): string {
  switch (rr.type) {
    case QType.A:
    case QType.AAAA:
      return rr.address;
    case QType.NS:
    case QType.CNAME:
    case QType.PTR:
      return rr.target;
    case QType.SRV:
      return `${rr.priority} ${rr.weight} ${rr.port} ${rr.target}`;
    case QType.SOA:
      return `${rr.mname} ${rr.rname} ${rr.serial} ${rr.refresh} ${rr.retry} ${rr.expire} ${rr.minimum}`;
    case QType.MX:
      return `${rr.preference} ${rr.exchange}`;
    case QType.TXT:
      return rr.strings.map(formatCharacterString).join(" ");
  }
}

/**
 * Quotes a character-string, escaping `"` and `\`, control characters as `\DDD`, and parentheses as `\040`/`\041`:
 * dnsz collapses runs of whitespace, even inside quotes, on any line containing a parenthesis.
 */
function formatCharacterString(s: string): string {
  const escaped = s.replace(/["\\]|[\x00-\x1f\x7f()]/g, (c) =>
    c === '"' || c === "\\" ? `\\${c}` : `\\${c.charCodeAt(0).toString().padStart(3, "0")}`,
  );
  return `"${escaped}"`;
}

/**
 * Parses one line: owner, optional TTL and class IN in either order, type, rdata. Relative names are made absolute
 * under `origin`; `defaultTtl` applies when the line has no TTL.
 */
export function parseRr(line: string, origin: Fqdn = ROOT, defaultTtl?: number): Rr {
  const tokens = tokenize(line);
  const ownerToken = tokens.shift();
  if (ownerToken === undefined) throw new PresentationError("owner", "the line is empty");
  const owner = parseName(ownerToken, "owner", origin);
  let ttl: number | undefined;
  let sawClass = false;
  let token = tokens.shift();
  for (; token !== undefined && !token.quoted; token = tokens.shift()) {
    if (ttl === undefined && /^\d+$/.test(token.text)) {
      ttl = parseUint(token, "TTL", MAX_TTL);
    } else if (!sawClass && /^(IN|CH|HS|CS|ANY|CLASS\d+)$/i.test(token.text)) {
      if (token.text.toUpperCase() !== "IN") throw new PresentationError("class", `${token.text} is not IN`);
      sawClass = true;
    } else {
      break;
    }
  }
  if (token === undefined) throw new PresentationError("type", "missing");
  if (token.quoted) throw new PresentationError("type", `quoted type ${JSON.stringify(token.text)}`);
  ttl ??= defaultTtl;
  if (ttl === undefined) throw new PresentationError("TTL", "missing and no default given");
  return rdataFromTokens(owner, ttl, token.text, tokens, origin);
}

/** Builds a record from unparsed rdata, e.g. `0 65535 8080 web` for SRV; relative names are under `origin`. */
export function parseRdata(owner: Fqdn, ttl: number, type: string, content: string, origin: Fqdn): Rr {
  return rdataFromTokens(owner, ttl, type, tokenize(content), origin);
}

function rdataFromTokens(owner: Fqdn, ttl: number, type: string, tokens: Token[], origin: Fqdn): Rr {
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) {
    throw new PresentationError("TTL", `${ttl} is not an integer in 0-${MAX_TTL}`);
  }
  const base = { name: owner, ttl };
  const t = type.toUpperCase();
  switch (t) {
    case "A":
      return { ...base, type: QType.A, address: parseIpv4(fields(t, tokens, ["address"])[0]) };
    case "AAAA":
      return { ...base, type: QType.AAAA, address: parseIpv6(fields(t, tokens, ["address"])[0]) };
    case "NS":
    case "CNAME":
    case "PTR":
      return {
        ...base,
        type: QType[t as "NS" | "CNAME" | "PTR"],
        target: parseName(fields(t, tokens, ["target"])[0], `${t} target`, origin),
      };
    case "MX": {
      const [preference, exchange] = fields(t, tokens, ["preference", "exchange"]);
      return {
        ...base,
        type: QType.MX,
        preference: parseUint(preference, "MX preference", U16),
        exchange: parseName(exchange, "MX exchange", origin),
      };
    }
    case "SRV": {
      const [priority, weight, port, target] = fields(t, tokens, ["priority", "weight", "port", "target"]);
      return {
        ...base,
        type: QType.SRV,
        priority: parseUint(priority, "SRV priority", U16),
        weight: parseUint(weight, "SRV weight", U16),
        port: parseUint(port, "SRV port", U16),
        target: parseName(target, "SRV target", origin),
      };
    }
    case "SOA": {
      const [mname, rname, serial, refresh, retry, expire, minimum] = fields(t, tokens, SOA_FIELDS);
      const u32 = (token: Token, field: string) => parseUint(token, `SOA ${field}`, U32);
      return {
        ...base,
        type: QType.SOA,
        mname: parseName(mname, "SOA mname", origin),
        rname: parseName(rname, "SOA rname", origin),
        serial: u32(serial, "serial"),
        refresh: u32(refresh, "refresh"),
        retry: u32(retry, "retry"),
        expire: u32(expire, "expire"),
        minimum: u32(minimum, "minimum"),
      };
    }
    case "TXT":
      if (tokens.length === 0) throw new PresentationError("TXT rdata", "needs at least one string");
      return {
        ...base,
        type: QType.TXT,
        strings: tokens.map((s, i) => parseCharacterString(s, `TXT string ${i + 1}`)),
      };
    default:
      throw new PresentationError(
        "type",
        typeFromName(t) === undefined
          ? `unknown type ${type}`
          : `${type} is not supported (A AAAA NS CNAME PTR SRV SOA MX TXT)`,
      );
  }
}

const SOA_FIELDS = ["mname", "rname", "serial", "refresh", "retry", "expire", "minimum"] as const;

interface Token {
  readonly text: string;
  readonly quoted: boolean;
}

/** Exactly `names.length` fields, returned as a tuple of that length. */
function fields<const N extends readonly string[]>(
  type: string,
  tokens: Token[],
  names: N,
): { [K in keyof N]: Token } {
  if (tokens.length !== names.length) {
    throw new PresentationError(
      `${type} rdata`,
      `expected ${names.length} field(s) (${names.join(" ")}), found ${tokens.length}`,
    );
  }
  return tokens as { [K in keyof N]: Token };
}

/**
 * Splits on whitespace, keeping quoted strings whole and escapes (`\X`, `\DDD`) undecoded. Unquoted parentheses
 * are grouping only and `;` starts a comment (RFC 1035 section 5.1).
 */
function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ";") break;
    if (/[\s()]/.test(c)) {
      i++;
      continue;
    }
    const quoted = c === '"';
    let text = "";
    if (quoted) i++;
    for (; i < s.length; i++) {
      const d = s[i]!;
      if (quoted ? d === '"' : /[\s();"]/.test(d)) break;
      text += d;
      if (d === "\\" && i + 1 < s.length) text += s[++i];
    }
    if (quoted) {
      if (s[i] !== '"') throw new PresentationError("rdata", `unterminated quoted string "${text}`);
      i++;
    }
    tokens.push({ text, quoted });
  }
  return tokens;
}

function parseUint(token: Token, field: string, max: number): number {
  const n = /^\d+$/.test(token.text) && !token.quoted ? Number(token.text) : Number.NaN;
  if (!(n <= max))
    throw new PresentationError(field, `${JSON.stringify(token.text)} is not an integer in 0-${max}`);
  return n;
}

function parseName(token: Token, field: string, origin: Fqdn): Fqdn {
  if (token.quoted || token.text.includes("\\")) {
    throw new PresentationError(
      field,
      `${JSON.stringify(token.text)}: quoted or escaped names are not supported`,
    );
  }
  try {
    return fqdn(token.text, origin);
  } catch (err) {
    if (err instanceof NameError) throw new PresentationError(field, err.message);
    throw err;
  }
}

/** A dotted quad with four decimal parts 0-255 and no leading zeros (which some parsers read as octal). */
function parseIpv4(token: Token): string {
  const parts = token.text.split(".");
  const ok =
    !token.quoted &&
    parts.length === 4 &&
    parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
  if (!ok)
    throw new PresentationError(
      "A address",
      `${JSON.stringify(token.text)} is not a dotted-quad IPv4 address`,
    );
  return token.text;
}

function parseIpv6(token: Token): string {
  // node:net accepts a zone index (`fe80::1%eth0`), which has no place in DNS data.
  if (token.quoted || token.text.includes("%") || !isIPv6(token.text)) {
    throw new PresentationError("AAAA address", `${JSON.stringify(token.text)} is not an IPv6 address`);
  }
  return canonicalIpv6(token.text);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes `\X` and `\DDD` escapes (RFC 1035 section 5.1); the result must be at most 255 bytes of UTF-8. */
function parseCharacterString(token: Token, field: string): string {
  const bytes: Buffer[] = [];
  for (const [i, part] of token.text.split(/(\\\d{3}|\\[\s\S])/).entries()) {
    if (i % 2 === 0) {
      if (part.includes("\\")) throw new PresentationError(field, "ends with a lone backslash");
      bytes.push(Buffer.from(part, "utf8"));
    } else if (/^\\\d{3}$/.test(part)) {
      const n = Number(part.slice(1));
      if (n > 255) throw new PresentationError(field, `escape ${part} is not a byte`);
      bytes.push(Buffer.of(n));
    } else {
      bytes.push(Buffer.from(part.slice(1), "utf8"));
    }
  }
  const data = Buffer.concat(bytes);
  if (data.length > MAX_CHARACTER_STRING) {
    throw new PresentationError(field, `${data.length} bytes, over the 255-byte limit`);
  }
  try {
    return utf8.decode(data);
  } catch {
    throw new PresentationError(field, "is not valid UTF-8");
  }
}
