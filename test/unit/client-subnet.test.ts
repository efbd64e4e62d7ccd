import { describe, expect, it } from "vitest";
import { Rcode } from "../../src/dns/constants.js";
import { decodeQuery } from "../../src/dns/query.js";
import { buildQuery } from "../support/raw-dns.js";

/** An ECS option (RFC 7871 section 6) from its fields, without any checking. */
function ecs(family: number, prefix: number, scope: number, address: number[]) {
  return { code: 8, data: Buffer.from([family >> 8, family & 0xff, prefix, scope, ...address]) };
}
const query = (...options: ReturnType<typeof ecs>[]) =>
  decodeQuery(buildQuery({ qname: "web.demo.svc.cluster.local", opt: { options } }));

describe("EDNS Client Subnet in queries (RFC 7871)", () => {
  it.each([
    { says: "an IPv4 /32", option: ecs(1, 32, 0, [10, 244, 1, 20]), subnet: "10.244.1.20" },
    {
      says: "an IPv4 /24 with its three address bytes",
      option: ecs(1, 24, 0, [10, 244, 1]),
      subnet: "10.244.1.0",
    },
    {
      says: "an IPv4 /20 with its last bits clear",
      option: ecs(1, 20, 0, [10, 244, 0x10]),
      subnet: "10.244.16.0",
    },
    { says: "a /0 with no address", option: ecs(1, 0, 0, []), subnet: "0.0.0.0" },
    {
      says: "an IPv6 /64",
      option: ecs(2, 64, 0, [0xfd, 0, 0, 0x20, 0, 0, 0, 0x22]),
      subnet: "fd00:20:0:22::",
    },
  ])("reads $says", ({ option, subnet }) => {
    const d = query(option);
    expect(d.kind).toBe("query");
    if (d.kind === "query") expect(d.query.edns?.clientSubnet).toBe(subnet);
  });

  it.each([
    { says: "an unknown family", option: ecs(3, 8, 0, [10]) },
    { says: "a prefix longer than IPv4 allows", option: ecs(1, 33, 0, [10, 0, 0, 1, 0]) },
    { says: "a prefix longer than IPv6 allows", option: ecs(2, 129, 0, new Array(17).fill(0)) },
    { says: "a SCOPE prefix in a query", option: ecs(1, 24, 24, [10, 244, 1]) },
    { says: "more address bytes than the prefix needs", option: ecs(1, 0, 0, [10, 244, 1, 20]) },
    { says: "fewer address bytes than the prefix needs", option: ecs(1, 32, 0, [10, 244]) },
    { says: "address bits set past the prefix", option: ecs(1, 20, 0, [10, 244, 0x1f]) },
    { says: "an option too short for its fields", option: { code: 8, data: Buffer.from([0, 1]) } },
  ])("answers FORMERR for $says", ({ option }) => {
    const d = query(option);
    expect(d.kind).toBe("error");
    if (d.kind === "error") expect(d.rcode).toBe(Rcode.FORMERR);
  });

  it("answers FORMERR for two client-subnet options in one query", () => {
    const d = query(ecs(1, 32, 0, [10, 0, 0, 1]), ecs(1, 32, 0, [10, 0, 0, 2]));
    expect(d.kind === "error" && d.rcode).toBe(Rcode.FORMERR);
  });
});
