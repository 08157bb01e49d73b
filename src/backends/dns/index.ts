/**
 * DNS for every backend: a stub resolver over any backend's sockets (`resolver.ts`),
 * its cache, transport, name rules and server-address parsing, and the codec boundary
 * (`dns-packet`) shared with the DNS server app.
 */
export { DnsResolver, createDnsResolver, DNS_RESOLVER_DEFAULTS } from './resolver.ts';
export type { DnsAnswer, DnsResolverConfig, DnsResolverOptions, DnsResolverStats } from './resolver.ts';
export type { DnsSocketFactory } from './dns-transport.ts';
export { parseDnsServer, parseDnsServers } from './dns-servers.ts';
export type { DnsServerAddress, DnsServerSpec } from './dns-servers.ts';
export { checkHostName, sameName, canonicalName } from './dns-name.ts';
