/**
 * `iotnet/mqtt`: an MQTT 3.1.1 / 5 client over any iotnet stack (see `MqttClient`).
 *
 * ```ts
 * import { MqttClient } from 'iotnet/mqtt';
 * const client = await MqttClient.connect(network, { host: 'broker.local', protocolVersion: 5 });
 * await client.subscribe('sensors/#', { qos: 1 });
 * client.on('message', (m) => console.log(m.topic, m.payload));
 * await client.publish('sensors/t1', '21.5', { qos: 1 });
 * await client.end();
 * ```
 *
 * @module iotnet/mqtt
 */
export { MqttClient } from './mqtt-client.ts';
export type { MqttClientEvents, MqttClientHooks, MqttMessage, MqttPublishOptions, MqttState, MqttTransport } from './mqtt-client.ts';
export { MqttError } from './mqtt-error.ts';
export type { MqttErrorReason } from './mqtt-error.ts';
export type { MqttClientOptions, MqttPassword, MqttWill } from './mqtt-options.ts';
