/** Names derived from addresses: per-pod host labels and reverse-mapping owner names. */
import { describe, expect, it } from "vitest";
import { addressLabel, reverseName } from "../../src/discovery/names.js";
import { isHostLabel } from "../../src/dns/name.js";

describe("addressLabel", () => {
  it.each([
    { says: "an IPv4 address has its dots replaced by dashes", address: "10.244.1.5", label: "10-244-1-5" },
    { says: "an IPv6 address has its colons replaced by dashes", address: "fd00::1", label: "fd00--1" },
    { says: "an IPv6 address ending in :: gets a trailing 0", address: "fd00::", label: "fd00--0" },
    { says: "an IPv6 address starting with :: gets a leading 0", address: "::1", label: "0--1" },
    { says: "the unspecified IPv6 address gets a 0 at both ends", address: "::", label: "0--0" },
    {
      says: "an IPv6 address is written in RFC 5952 form first",
      address: "FD00:0010:0244:0001:0000:0000:0000:001A",
      label: "fd00-10-244-1--1a",
    },
    {
      says: "only the longest run of zero groups is compressed",
      address: "2001:db8:0:0:1:0:0:1",
      label: "2001-db8--1-0-0-1",
    },
    {
      says: "a lone zero group is not compressed",
      address: "2001:db8:0:1:1:1:1:1",
      label: "2001-db8-0-1-1-1-1-1",
    },
    {
      says: "an IPv4-mapped IPv6 address is written in hex",
      address: "::ffff:10.244.1.5",
      label: "0--ffff-af4-105",
    },
  ])("$says", ({ address, label }) => {
    expect(addressLabel(address)).toBe(label);
    expect(isHostLabel(label)).toBe(true);
  });
});

describe("reverseName", () => {
  it.each([
    {
      says: "an IPv4 address is reversed under in-addr.arpa",
      address: "10.244.1.15",
      name: "15.1.244.10.in-addr.arpa.",
    },
    {
      says: "an IPv4 address with zero octets keeps them",
      address: "10.0.96.10",
      name: "10.96.0.10.in-addr.arpa.",
    },
    {
      says: "an IPv6 address is 32 reversed nibbles under ip6.arpa (RFC 3596 section 2.5 example)",
      address: "4321:0:1:2:3:4:567:89ab",
      name: "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa.",
    },
    {
      says: "a compressed IPv6 address is expanded before reversing",
      address: "fd00:10:244:1::46",
      name: "6.4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa.",
    },
    {
      says: "the IPv6 loopback address reverses to 31 zero nibbles after a 1",
      address: "::1",
      name: "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
    },
  ])("$says", ({ address, name }) => {
    expect(reverseName(address)).toBe(name);
  });
});
