import { describe, expect, test } from "vitest";
import { QType } from "../../src/dns/constants.js";
import { fqdn } from "../../src/dns/name.js";
import { formatRr, formatRrs, PresentationError, parseRdata, parseRr } from "../../src/dns/presentation.js";

const zone = fqdn("cluster.local");

describe("round trip", () => {
  const canonical = [
    "web.demo.svc.cluster.local. 5 IN A 10.96.12.7",
    "web.demo.svc.cluster.local. 5 IN AAAA fd00:10:96::c07",
    "cluster.local. 30 IN NS ns.dns.cluster.local.",
    "www.demo.svc.cluster.local. 5 IN CNAME web.demo.svc.cluster.local.",
    "5.1.244.10.in-addr.arpa. 5 IN PTR 10-244-1-5.web.demo.svc.cluster.local.",
    "_http._tcp.web.demo.svc.cluster.local. 5 IN SRV 0 65535 8080 10-244-1-5.web.demo.svc.cluster.local.",
    "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 4294967295 7200 3600 1209600 5",
    "cluster.local. 30 IN MX 10 mail.example.org.",
    'cluster.local. 30 IN TXT "v=spf1 -all" "a \\"quoted\\" back\\\\slash" ""',
    ". 0 IN A 0.0.0.0",
  ];
  test.each(canonical)("%s formats back to the same text after parsing", (line) => {
    const rr = parseRr(line);
    expect(formatRr(rr)).toBe(line);
    expect(parseRr(formatRr(rr))).toEqual(rr);
  });

  test.each([
    ["web 5 IN A 10.0.0.1", "web.cluster.local. 5 IN A 10.0.0.1"],
    ["web IN 5 A 10.0.0.1", "web.cluster.local. 5 IN A 10.0.0.1"],
    ["web A 10.0.0.1", "web.cluster.local. 30 IN A 10.0.0.1"],
    ["WEB.Cluster.Local. 5 in a 10.0.0.1", "web.cluster.local. 5 IN A 10.0.0.1"],
    ["@ 5 IN NS ns.dns", "cluster.local. 5 IN NS ns.dns.cluster.local."],
    ["_x._tcp 5 IN SRV 1 2 3 @", "_x._tcp.cluster.local. 5 IN SRV 1 2 3 cluster.local."],
    [
      "@ 5 IN SOA ns hm ( 1 2 3 4 5 ) ; comment",
      "cluster.local. 5 IN SOA ns.cluster.local. hm.cluster.local. 1 2 3 4 5",
    ],
    ['t 5 IN TXT plain "\\065\\066" "semi;colon"', 't.cluster.local. 5 IN TXT "plain" "AB" "semi;colon"'],
  ])("%s is read relative to the origin as %s", (input, expected) => {
    expect(formatRr(parseRr(input, zone, 30))).toBe(expected);
  });

  test.each([
    ["2001:DB8:0:0:0:0:2:1", "2001:db8::2:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["fe80:0000:0000:0000:0204:61ff:fe9d:f156", "fe80::204:61ff:fe9d:f156"],
    ["::ffff:192.0.2.1", "::ffff:c000:201"],
  ])("AAAA %s is held in RFC 5952 form %s", (input, expected) => {
    expect(parseRr(`h. 5 IN AAAA ${input}`)).toMatchObject({ address: expected });
  });

  test.each([
    ["control characters", "tab\there\x00", '"tab\\009here\\000"'],
    ["parentheses, which dnsz would mangle", "a  (b)", '"a  \\040b\\041"'],
    ["multi-byte UTF-8", "café", '"café"'],
  ])("TXT strings with %s are escaped and read back", (_, text, shown) => {
    const rr = { name: zone, ttl: 5, type: QType.TXT, strings: [text] } as const;
    expect(formatRr(rr)).toBe(`cluster.local. 5 IN TXT ${shown}`);
    expect(parseRr(formatRr(rr))).toEqual(rr);
  });

  test("a TXT string of exactly 255 bytes is accepted", () => {
    const s = "é".repeat(127) + "x";
    expect(parseRr(`t. 5 IN TXT "${s}"`)).toMatchObject({ strings: [s] });
  });

  test("formatRrs formats each record in the order given", () => {
    const rrs = [parseRr("b. 5 IN A 1.1.1.1"), parseRr("a. 5 IN A 2.2.2.2")];
    expect(formatRrs(rrs)).toEqual(["b. 5 IN A 1.1.1.1", "a. 5 IN A 2.2.2.2"]);
  });
});

describe("parseRdata", () => {
  test("resolves relative names and @ against the origin given", () => {
    const origin = fqdn("demo.svc.cluster.local");
    expect(parseRdata(fqdn("x", origin), 5, "srv", "0 10 80 web", origin)).toEqual({
      name: "x.demo.svc.cluster.local.",
      ttl: 5,
      type: QType.SRV,
      priority: 0,
      weight: 10,
      port: 80,
      target: "web.demo.svc.cluster.local.",
    });
    expect(parseRdata(origin, 5, "CNAME", "@", origin)).toMatchObject({ target: origin });
  });

  test.each([Number.NaN, -1, 1.5, 2 ** 31])("rejects the TTL %s", (ttl) => {
    expect(() => parseRdata(zone, ttl, "A", "1.2.3.4", zone)).toThrow(/^TTL: /);
  });
});

describe("malformed records are rejected with the field at fault", () => {
  const cases: [line: string, field: string][] = [
    ["a. 5 IN A 1.2.3", "A address"],
    ["a. 5 IN A 1.2.3.256", "A address"],
    ["a. 5 IN A 01.2.3.4", "A address"],
    ["a. 5 IN A 1.2.3.4.5", "A address"],
    ["a. 5 IN A 1.2.3.4 5.6.7.8", "A rdata"],
    ["a. 5 IN AAAA 192.0.2.1", "AAAA address"],
    ["a. 5 IN AAAA fe80::1%eth0", "AAAA address"],
    ["a. 5 IN AAAA 1::2::3", "AAAA address"],
    ["a. 5 IN AAAA 1:2:3:4:5:6:7:8:9", "AAAA address"],
    ["a. 5 IN NS", "NS rdata"],
    ['a. 5 IN NS "ns."', "NS target"],
    ["a. 5 IN CNAME b..c.", "CNAME target"],
    [`a. 5 IN PTR ${"x".repeat(64)}.`, "PTR target"],
    ["a. 5 IN SRV 0 5 65536 t.", "SRV port"],
    ["a. 5 IN SRV -1 5 80 t.", "SRV priority"],
    ["a. 5 IN SRV 0 0x10 80 t.", "SRV weight"],
    ["a. 5 IN SRV 0 5 80", "SRV rdata"],
    ["a. 5 IN MX 10", "MX rdata"],
    ["a. 5 IN MX ten mail.", "MX preference"],
    ["a. 5 IN SOA ns. hm. 1 2 3 4", "SOA rdata"],
    ["a. 5 IN SOA ns. hm. 4294967296 2 3 4 5", "SOA serial"],
    ["a. 5 IN SOA ns. hm. 1 2 3 4 1h", "SOA minimum"],
    ["a. 5 IN SOA ns. a\\.b. 1 2 3 4 5", "SOA rname"],
    ["a. 5 IN TXT", "TXT rdata"],
    [`a. 5 IN TXT "ok" "${"x".repeat(256)}"`, "TXT string 2"],
    ['a. 5 IN TXT "\\256"', "TXT string 1"],
    ['a. 5 IN TXT "\\255"', "TXT string 1"],
    ['a. 5 IN TXT "open', "rdata"],
    ["a. 5 IN CAA 0 issue ca.example.", "type"],
    ["a. 5 IN BOGUS x", "type"],
    ["a. 5 IN", "type"],
    ["a. 5 CH A 1.2.3.4", "class"],
    ["a. 2147483648 IN A 1.2.3.4", "TTL"],
    ["a. IN A 1.2.3.4", "TTL"],
    ["a..b. 5 IN A 1.2.3.4", "owner"],
    ["", "owner"],
  ];
  test.each(cases)("%s fails on %s", (line, field) => {
    let error: unknown;
    try {
      parseRr(line);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PresentationError);
    expect(error).toMatchObject({ field, code: "EPRESENTATION" });
    expect((error as Error).message.startsWith(`${field}: `)).toBe(true);
  });

  test("a relative name that is too long for the origin names the field", () => {
    const deep = fqdn(Array(40).fill("abcde").join("."));
    expect(() => parseRdata(deep, 5, "CNAME", Array(10).fill("abcde").join("."), deep)).toThrow(
      /^CNAME target: name over 255 octets/,
    );
  });
});
