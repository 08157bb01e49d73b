import { IOT_SOCKET_EINVAL, IOT_SOCKET_ERROR } from '../base/iot-constants.ts';
import { IOT_SOCKET_API_MEMBERS, type Bytes, type IotSocketApi, type NumRef } from './iot-socket-types.ts';

const ERROR = Promise.resolve(IOT_SOCKET_ERROR);

/**
 * The IoT Socket run-time multiplexer (upstream `iot_socket_mux.h`, spec §13): a
 * slot holding one `IotSocketApi` table. Registered, every call forwards its
 * arguments and result unchanged; none registered, every call returns
 * `IOT_SOCKET_ERROR`. As upstream, there is no per-socket bookkeeping: ids pass
 * unchanged to whatever table is registered later.
 *
 * A table that throws or rejects (it should not) yields `IOT_SOCKET_ERROR`.
 */
export class IotSocketMux implements IotSocketApi {
  private api: IotSocketApi | null = null;

  /** Installs `api` (or unregisters with `null`). 0 on success; `IOT_SOCKET_EINVAL` for anything that is not a table. */
  register(api: IotSocketApi | null | undefined): number {
    if (api === null || api === undefined) {
      this.api = null;
      return 0;
    }
    if (typeof api !== 'object' || IOT_SOCKET_API_MEMBERS.some((m) => typeof api[m] !== 'function')) {
      return IOT_SOCKET_EINVAL;
    }
    this.api = api;
    return 0;
  }

  /** The table registered now, or null. */
  get registered(): IotSocketApi | null {
    return this.api;
  }

  private call(fn: (api: IotSocketApi) => Promise<number>): Promise<number> {
    const api = this.api;
    if (api === null) return ERROR;
    try {
      return fn(api).then(
        (r) => (typeof r === 'number' && Number.isInteger(r) ? r : IOT_SOCKET_ERROR),
        () => IOT_SOCKET_ERROR,
      );
    } catch {
      return ERROR;
    }
  }

  socketCreate(af: number, type: number, protocol: number): Promise<number> {
    return this.call((a) => a.socketCreate(af, type, protocol));
  }
  socketBind(socket: number, ip: Bytes, ip_len: number, port: number): Promise<number> {
    return this.call((a) => a.socketBind(socket, ip, ip_len, port));
  }
  socketListen(socket: number, backlog: number): Promise<number> {
    return this.call((a) => a.socketListen(socket, backlog));
  }
  socketAccept(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number> {
    return this.call((a) => a.socketAccept(socket, ip, ip_len, port));
  }
  socketConnect(socket: number, ip: Bytes, ip_len: number, port: number): Promise<number> {
    return this.call((a) => a.socketConnect(socket, ip, ip_len, port));
  }
  socketRecv(socket: number, buf: Bytes, len: number): Promise<number> {
    return this.call((a) => a.socketRecv(socket, buf, len));
  }
  socketRecvFrom(socket: number, buf: Bytes, len: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number> {
    return this.call((a) => a.socketRecvFrom(socket, buf, len, ip, ip_len, port));
  }
  socketSend(socket: number, buf: Bytes, len: number): Promise<number> {
    return this.call((a) => a.socketSend(socket, buf, len));
  }
  socketSendTo(socket: number, buf: Bytes, len: number, ip: Bytes, ip_len: number, port: number): Promise<number> {
    return this.call((a) => a.socketSendTo(socket, buf, len, ip, ip_len, port));
  }
  socketGetSockName(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number> {
    return this.call((a) => a.socketGetSockName(socket, ip, ip_len, port));
  }
  socketGetPeerName(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number> {
    return this.call((a) => a.socketGetPeerName(socket, ip, ip_len, port));
  }
  socketGetOpt(socket: number, opt_id: number, opt_val: Bytes, opt_len: NumRef): Promise<number> {
    return this.call((a) => a.socketGetOpt(socket, opt_id, opt_val, opt_len));
  }
  socketSetOpt(socket: number, opt_id: number, opt_val: Bytes, opt_len: number): Promise<number> {
    return this.call((a) => a.socketSetOpt(socket, opt_id, opt_val, opt_len));
  }
  socketClose(socket: number): Promise<number> {
    return this.call((a) => a.socketClose(socket));
  }
  socketGetHostByName(name: string | null | undefined, af: number, ip: Bytes, ip_len: NumRef): Promise<number> {
    return this.call((a) => a.socketGetHostByName(name, af, ip, ip_len));
  }
}
