/**
 * Conformance of the Quectel BG96 driver against its simulator through a real pty and
 * serialport (see `at-env.ts`): the modem boots, registers, activates its PDP context and
 * carries every case's sockets; cases beyond the module (IPv6) are reported unsupported.
 */
import { QuectelSim } from '../../src/apps/sim/quectel/quectel-sim.ts';
import { createQuectel, type Quectel } from '../../src/backends/quectel/index.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { AT_CONNECT_TIMEOUT_MS, defineAtConformance } from './at-env.ts';

defineAtConformance('Quectel BG96 driver over a pty to its simulator (host stack)', {
  startSim(stream, network, scheduler) {
    const sim = new QuectelSim({
      stream, scheduler, network, rng: new XorShiftRng(96), model: 'BG96', pdpAddress: '127.0.0.1',
      timing: { bootMs: 100, simReadyMs: 100 },
    });
    sim.powerOn();
    return sim;
  },
  async startDriver(stream, scheduler) {
    const q: Quectel = createQuectel({ stream, scheduler, apn: 'internet', backend: { connectTimeoutMs: AT_CONNECT_TIMEOUT_MS } });
    await q.modem.start();
    return {
      backend: q.backend,
      async close() {
        await q.backend.close();
        q.modem.dispose();
      },
    };
  },
});
