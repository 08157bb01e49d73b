// TypeDoc configuration: the API reference in docs/api/ (`npx typedoc`; `npm run docs`).
//
// The entry points are derived from package.json's `exports`, so the reference covers
// exactly the public entry points: each export's target (a string, or the `import`/
// `default`/`types` condition of an object) is mapped back to its TypeScript source,
// `./dist/x/y.js` or `./dist/x/y.d.ts` -> `./src/x/y.ts`, `./src/x/y.ts` as is. Targets
// that are not modules of ours (`./package.json`, `./bin/...`) are left out.
//
// TYPEDOC_EXCLUDE=src/browser.ts,src/links.ts leaves entry files out of one run (only
// while they are being written; the committed configuration covers every export).
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/** The source file behind one export target, or undefined when it is not one of ours. */
function sourceOf(target) {
  if (target !== null && typeof target === 'object') {
    return sourceOf(target.import ?? target.default ?? target.node ?? target.types);
  }
  if (typeof target !== 'string') return undefined;
  const src = target
    .replace(/^\.\/dist\//, './src/')
    .replace(/\.d\.ts$/, '.ts')
    .replace(/\.(m?js)$/, '.ts');
  return /^\.\/src\/.*\.ts$/.test(src) ? src : undefined;
}

const excluded = new Set(
  (process.env.TYPEDOC_EXCLUDE ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => (s.startsWith('./') ? s : `./${s}`)),
);
const exportsMap = typeof pkg.exports === 'string' ? { '.': pkg.exports } : pkg.exports;
const entryPoints = [...new Set(Object.values(exportsMap).map(sourceOf).filter((s) => s !== undefined))]
  .filter((s) => !excluded.has(s));

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: `${pkg.name} ${pkg.version}`,
  entryPoints,
  entryPointStrategy: 'resolve',
  tsconfig: './tsconfig.typedoc.json', // src/ only: the reference covers the package, not its tests
  out: './docs/api',
  readme: 'none',
  excludePrivate: true,
  excludeProtected: false,
  excludeInternal: true,
  excludeExternals: true,
  externalPattern: ['**/node_modules/**'],
  includeVersion: false,
  githubPages: false,
  disableSources: true, // no source links: the package has no public repository URL yet
  // The static tier runs tsc right before: TypeDoc does not type-check again (about half its time).
  skipErrorChecking: true,
  treatWarningsAsErrors: true,
  treatValidationWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, invalidPath: true, rewrittenLink: true, notDocumented: true, unusedMergeModuleWith: true },
  // Every export, and every property, method and accessor of what is exported (members of
  // anonymous object types included: options, events, results).
  requiredToBeDocumented: [
    'Module', 'Namespace', 'Enum', 'EnumMember', 'Variable', 'Function', 'Class', 'Interface',
    'Property', 'Method', 'Accessor', 'TypeAlias',
  ],
  // Types that public members mention but that are not entry-point exports themselves (the stack's
  // internals reachable through public fields, helper shapes): shown by name, not linked.
  intentionallyNotExported: [
    'CODE_TABLE',
    'AgentConnectionOptions', 'AgentStream', 'ArpCache', 'ArpCacheOptions', 'ArpConflictWatch',
    'AtErrorRefine', 'AtLineResult', 'AtToken', 'AtTokenizer', 'AtTokenizerOptions', 'AuthTiming', 'Borrowed',
    'CancelTimer', 'Carrier', 'ChangeTarget', 'Clock', 'CloseOptions', 'ConnectionCallback', 'CpFsm',
    'CpTiming', 'Device', 'DnsRecordType', 'DnsServerStats', 'DnsSoa', 'DropCounters', 'EspCommandEntry',
    'EspDialect', 'EspWifiModel', 'ForwardingConfig', 'ForwardingOption', 'FullLineRecogniser',
    'HdlcDecoderStats', 'HostEnv', 'HostsValue', 'IcmpErrorInfo', 'Ip6Send', 'IpInputContext', 'IpSend',
    'IpcpNegotiated', 'Ipv4Reassembler', 'Ipv6AddressInfo', 'Ipv6Event', 'Ipv6InterfaceOptions', 'Ipv6Layer',
    'Ipv6StackOptions', 'Ipv6cpNegotiated', 'LcpNegotiated', 'Listeners', 'LowpanContext', 'LowpanInputSink',
    'LowpanReassemblyStats', 'MacAddress', 'MaybePromise', 'MuxSocket', 'MuxSocketOwner', 'NetInterface',
    'PartialLineRecogniser', 'PendingDatagram', 'PppOutput', 'PtyAddon', 'QuectelDataMode',
    'QuectelNetworkModel', 'QuectelSocketOptions', 'QuectelSocketStats', 'QuectelSockets', 'QueueEnd',
    'RawModeOptions', 'ReassemblyOptions', 'Route', 'RouteTable', 'SerialModemInputs', 'SlipDecoderStats',
    'StackService', 'StreamLinkDrop', 'TcpAddress', 'TcpConn', 'TcpLayerOptions', 'TcpListenOptions',
    'TcpListener', 'TcpStackPort', 'TlsWhere', 'TransportHandler', 'UdpPcb', 'UrcPoint', 'VariableData',
    'VariableDataOptions', 'ZoneRecord',
  ],
  sort: ['source-order'],
  logLevel: 'Warn',
};
