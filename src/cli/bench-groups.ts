/**
 * The benchmark groups of bench/ by name, for `iotnet bench --only NAME`: the module and the
 * function that runs each (in the order `npm run bench` runs them).
 */
export interface BenchGroup {
  /** File in bench/. */
  readonly file: string;
  /** Its exported runner: `(opts)`, or `(ports, opts)` for the host TCP group (`needsPeer`). */
  readonly run: string;
  readonly needsPeer?: boolean;
  readonly about: string;
}

export const BENCH_GROUPS: Readonly<Record<string, BenchGroup>> = {
  'tcp-host': { file: 'tcp-host.bench.ts', run: 'runTcpBench', needsPeer: true, about: 'TCP through the IoT Socket API on the host stack vs node:net' },
  'tcp-userspace': { file: 'tcp-userspace.bench.ts', run: 'runUserspaceTcpBench', about: 'TCP between two userspace stacks' },
  'tcp-tap': { file: 'tcp-tap.bench.ts', run: 'runTapBench', about: 'TCP through a TAP with the kernel (root)' },
  mqtt: { file: 'mqtt.bench.ts', run: 'runMqttBench', about: 'MQTT publish rates' },
  wire: { file: 'wire.bench.ts', run: 'runWireBench', about: 'wire codecs (parse/emit)' },
  lowpan: { file: 'lowpan.bench.ts', run: 'runLowpanBench', about: '6LoWPAN on the simulated radio medium' },
  'at-modules': { file: 'at-modules.bench.ts', run: 'runAtBench', about: 'AT modules (ESP-AT, Quectel) against their simulators' },
  'serial-links': { file: 'serial-links.bench.ts', run: 'runSerialBench', about: 'PPP and SLIP over serial links' },
};
