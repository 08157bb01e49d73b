/**
 * A small authoritative DNS server for the embedded demo and tests: zones from a
 * record table (`DnsZone`), the answer logic (`DnsResponder`), and the UDP/TCP
 * server over any `Network` (`startDnsServer`).
 */
export { DnsServer, startDnsServer } from './dns-server.ts';
export type { DnsServerOptions, DnsServerStats } from './dns-server.ts';
export { DnsResponder } from './dns-responder.ts';
export type { DnsOutcome, DnsReply, DnsResponderOptions } from './dns-responder.ts';
export { DnsZone } from './dns-zone.ts';
export type { DnsRecord, DnsRecordType, DnsSoa, DnsZoneConfig } from './dns-zone.ts';
