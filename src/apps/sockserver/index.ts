/**
 * The reference test server (iot-socket-api.md §16) and its pure helpers.
 */
export { DEFAULT_PORTS, startSockServer } from './server.ts';
export type {
  SockServer,
  SockServerListener,
  SockServerOptions,
  SockServerPorts,
  SockServerService,
} from './server.ts';
export { Rfc864Chargen, SockServerChargen, rfc864Line, RFC864_LINE, SOCKSERVER_TCP_LINE } from './chargen.ts';
export { daytimeBytes, daytimeString, timeBytes, RFC868_EPOCH_OFFSET } from './daytime.ts';
export { parseControlCommand, parseControlInput, SendBlocks, StopCounter, statReply, GREETING } from './control.ts';
export type { ControlCommand, ConnectCommand, RecvCommand, SendCommand } from './control.ts';
