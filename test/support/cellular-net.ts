/**
 * A simulated operator network on virtual time for cellular tests: a carrier stack routing between
 * the PPP calls of a `QuectelSim` (`pppCarrier`) and a server stack (10.70.0.2) on a virtual cable
 * (the carrier is 10.70.0.1); the modem's host end of the serial line is `line`. Data calls get
 * 10.64.0.2 and DNS 10.70.0.53.
 */
import { pppCarrier, type PppCarrier, type PppCarrierOptions } from '../../src/apps/sim/ppp-carrier.ts';
import { QuectelSim } from '../../src/apps/sim/quectel/quectel-sim.ts';
import { createUserspaceBackend } from '../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { VirtualScheduler } from '../../src/base/time.ts';
import { createBytePipe, type BytePipeEnd } from '../../src/link/byte-pipe.ts';
import { createCable, type CableEnd } from '../../src/link/virtual-cable.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { Network } from '../../src/socket/network.ts';
import { Stack } from '../../src/stack/stack.ts';
import { addHost } from './stack-net.ts';

export const CARRIER_SERVER_IP = '10.70.0.2';
export const CALL_ADDRESS = '10.64.0.2';
export const CALL_DNS = '10.70.0.53';

export interface OperatorNet {
  readonly sched: VirtualScheduler;
  readonly sim: QuectelSim;
  readonly ppp: PppCarrier;
  /** The host's end of the modem's serial line. */
  readonly line: BytePipeEnd;
  /** A network on the server stack (10.70.0.2). */
  readonly serverNet: Network;
  /** The carrier's cable end towards the server (cut it to isolate the server). */
  readonly carrierEnd: CableEnd;
}

export function operatorNet(seed = 1, options: { sched?: VirtualScheduler; carrier?: Partial<PppCarrierOptions> } = {}): OperatorNet {
  const sched = options.sched ?? new VirtualScheduler();
  const [c0, s0] = createCable();
  const carrier = new Stack({ rng: new XorShiftRng(seed + 1), name: 'carrier', forwarding: true });
  carrier.addInterface(c0, { ipv4: { address: '10.70.0.1', prefixLen: 24 } });
  const carrierRunner = new StackRunner(carrier, { scheduler: sched });
  const server = addHost(sched, s0, CARRIER_SERVER_IP, seed + 2, { iface: { gateway: '10.70.0.1' } });
  const serverNet = new Network(createUserspaceBackend(server.stack, server.runner, { rng: new XorShiftRng(seed + 3) }), { scheduler: sched, rng: new XorShiftRng(seed + 4) });
  const carrierNet = new Network(createUserspaceBackend(carrier, carrierRunner, { rng: new XorShiftRng(seed + 5) }), { scheduler: sched, rng: new XorShiftRng(seed + 6) });
  const ppp = pppCarrier({ stack: carrier, scheduler: sched, rng: new XorShiftRng(seed + 7), dnsServers: [CALL_DNS], ...options.carrier });
  const [line, module] = createBytePipe({ scheduler: sched, baudRate: 921_600, chunking: { rng: new XorShiftRng(seed + 8), min: 1, max: 128 } });
  const sim = new QuectelSim({ stream: module, scheduler: sched, network: carrierNet, rng: new XorShiftRng(seed + 9), pdpAddress: CALL_ADDRESS, dataCall: ppp.handler });
  sim.powerOn();
  return { sched, sim, ppp, line, serverNet, carrierEnd: c0 };
}
