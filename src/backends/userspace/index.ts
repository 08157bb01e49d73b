/**
 * `backends/userspace`: the project's own TCP/IP stack behind the backend contract.
 * Build a `Stack` (src/stack/stack.ts), attach devices, start a `StackRunner`
 * (src/runtime/stack-runner.ts), then `createUserspaceBackend(stack, runner)`.
 */
export { createUserspaceBackend, UserspaceBackend, type HostsValue, type UserspaceBackendOptions } from './userspace-backend.ts';
export { UserspaceUdpSocket, type UserspaceEnv } from './userspace-udp-socket.ts';
