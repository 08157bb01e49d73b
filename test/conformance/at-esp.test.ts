/**
 * Conformance of the ESP-AT driver against its simulator through a real pty and serialport (see
 * `at-env.ts`), once per dialect: ESP-AT v2 (ESP32) and NONOS-AT 1.7 (ESP8266). The module boots,
 * joins the simulated access point and carries every case's sockets over the host stack; cases
 * beyond the module (IPv6) are reported unsupported.
 */
import { EspAtSim } from '../../src/apps/sim/esp-at/esp-at-sim.ts';
import { createEspAt, type EspAt } from '../../src/backends/esp-at/index.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { AT_CONNECT_TIMEOUT_MS, defineAtConformance } from './at-env.ts';

const AP = { ssid: 'iotnet-lab', password: 'conformance', bssid: '02:00:00:00:00:01', rssi: -48, channel: 6, ecn: 3 };

for (const dialect of ['esp-at', 'nonos'] as const) {
  defineAtConformance(`ESP-AT driver (${dialect}) over a pty to its simulator (host stack)`, {
    startSim(stream, network, scheduler) {
      const sim = new EspAtSim({
        stream, scheduler, network, rng: new XorShiftRng(32), dialect, aps: [AP],
        station: { ip: '127.0.0.1', gateway: '127.0.0.1', netmask: '255.0.0.0' },
        timing: { bootMs: 100, cwjapMs: 100 },
      });
      sim.powerOn();
      return sim;
    },
    async startDriver(stream, scheduler) {
      const esp: EspAt = createEspAt({ stream, scheduler, baudKnown: true, backend: { connectTimeoutMs: AT_CONNECT_TIMEOUT_MS } });
      await esp.wifi.initialize();
      await esp.wifi.join({ ssid: AP.ssid, password: AP.password });
      return {
        backend: esp.backend,
        async close() {
          await esp.backend.close();
        },
      };
    },
  });
}
