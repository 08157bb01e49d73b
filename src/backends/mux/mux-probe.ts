/**
 * One reachability probe through a backend: a non-blocking TCP connect to `address:port`, resolved
 * true when it connects or is refused (the host answered), false on a timeout or any other
 * failure. The socket is reset and closed either way.
 */
import { IOT_SOCKET_ECONNREFUSED, IOT_SOCKET_EINPROGRESS } from '../../base/iot-constants.ts';
import type { Scheduler } from '../../base/time.ts';
import type { SocketBackend } from '../contract.ts';

export function probeOnce(backend: SocketBackend, address: Uint8Array, port: number, scheduler: Scheduler, timeoutMs: number): Promise<boolean> {
  const s = backend.createSocket(address.length === 16 ? 2 : 1, 1);
  if (typeof s === 'number') return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      cancel();
      s.onChange(undefined);
      void Promise.resolve(s.close(true)).catch(() => undefined);
      resolve(ok);
    };
    const judge = (r: number): void => {
      if (r === IOT_SOCKET_EINPROGRESS) return;
      finish(r === 0 || r === IOT_SOCKET_ECONNREFUSED);
    };
    const cancel = scheduler.setTimer(timeoutMs, () => finish(false));
    s.onChange(() => judge(s.connectResult()));
    Promise.resolve(s.connect(address, port)).then(judge, () => finish(false));
  });
}
