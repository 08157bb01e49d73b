/**
 * `apps/ws-bridge/`: the Node side of the stack in a browser (docs/browser.md): a WebSocket
 * bridge onto a virtual switch, and a gateway stack on that switch with DHCP, DNS, the reference
 * test server and `node:http` over the userspace stack.
 */
export { WsBridge, type BridgeFile, type WsBridgeConnection, type WsBridgeOptions, type WsBridgeStats } from './ws-bridge.ts';
export { FramePump, type FramePumpStats } from './frame-pump.ts';
export {
  BROWSER_GATEWAY_NET,
  defaultGatewayHandler,
  HELLO_BODY,
  httpDataByte,
  MAX_DATA_BYTES,
  startBrowserGateway,
  type BrowserGateway,
  type BrowserGatewayOptions,
} from './browser-gateway.ts';
