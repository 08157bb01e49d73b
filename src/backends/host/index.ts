/**
 * `iotnet/host`: the host operating system's TCP/IP stack as an iotnet backend.
 *
 * `createHostBackend(options)` returns the raw backend (`SocketBackend`, non-blocking
 * `CoreSocket`s); `hostSocketApi()` (in `src/host.ts`, the `iotnet/host` entry) wraps it in the IoT Socket API.
 */
export { createHostBackend, HostBackend, lookupErrorCode } from './host-backend.ts';
export type { HostBackendOptions } from './host-backend.ts';
export { HostTcpSocket } from './host-tcp-socket.ts';
export { HostUdpSocket, MAX_UDP4_PAYLOAD, MAX_UDP6_PAYLOAD } from './host-udp-socket.ts';
export { HOST_CHANNELS } from './host-common.ts';
export type { HostDiagnostic } from './host-common.ts';
export { EPHEMERAL_FIRST, EPHEMERAL_LAST } from '../port-table.ts';
export type {
  Accepted,
  Af,
  BackendCaps,
  CoreSocket,
  Endpoint,
  LookupResult,
  RecvInfo,
  SockType,
  SocketBackend,
} from '../contract.ts';
