/**
 * `iotnet/host`: the host OS network stack (`node:net`, `node:dgram`, `node:dns`)
 * as an iotnet backend, IPv4 and IPv6.
 *
 * ```ts
 * import { iotSocketRegisterApi } from 'iotnet/iot-socket';
 * import { hostSocketApi } from 'iotnet/host';
 * iotSocketRegisterApi(hostSocketApi());
 * ```
 *
 * @module iotnet/host
 */
import { createHostBackend, type HostBackendOptions } from './backends/host/index.ts';
import type { IotSocketApi } from './socket/iot-socket-types.ts';
import { IotSocketLayer, type IotSocketLayerOptions } from './socket/iot-socket-layer.ts';

export * from './backends/host/index.ts';

/**
 * The IoT Socket API table of a new host-stack instance, for `iotSocketRegisterApi`.
 * Each call makes an independent instance (its own backend, socket ids and options).
 */
export function hostSocketApi(options: HostBackendOptions & IotSocketLayerOptions = {}): IotSocketApi {
  return new IotSocketLayer(createHostBackend(options), options.scheduler !== undefined ? { scheduler: options.scheduler } : {}).api();
}
