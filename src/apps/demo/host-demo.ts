/**
 * The host-stack demo (`iotnet demo --stack host`): the host OS stack talking to the
 * reference test server through both API styles.
 *
 * 1. starts the reference test server (echo, discard, daytime, chargen, time, control)
 *    on the host stack, on loopback, at a free port offset;
 * 2. registers an IoT Socket layer over a host backend with `iotSocketRegisterApi` and
 *    runs the shared IoT Socket session (client-steps.ts): name lookup, TCP echo, UDP
 *    echo, daytime, a non-blocking connect;
 * 3. runs the idiomatic API and its Node `Duplex` adapter: a `stream.pipeline` through
 *    the echo service, chargen read by async iteration, a timed bulk echo;
 * 4. reports each step through `report` and resolves to a summary (it never writes to
 *    the console itself). The embedded default is embedded-demo.ts.
 */
import { startSockServer } from '../sockserver/index.ts';
import { createHostBackend } from '../../backends/host/index.ts';
import { randomInt } from '../../base/rand.ts';
import { CryptoRng } from '../../runtime/crypto-rng.ts';
import { iotSocketRegisterApi } from '../../socket/iot-socket.ts';
import { IotSocketLayer } from '../../socket/iot-socket-layer.ts';
import { Network } from '../../socket/network.ts';
import { runIdiomaticSteps, runIotSocketSteps, stepRecorder, type DemoResult, type DemoStep } from './client-steps.ts';

export type { DemoResult, DemoStep } from './client-steps.ts';

export interface DemoOptions {
  /** Called once per finished step. */
  report?: (step: DemoStep) => void;
  /** Port offset of the test server (default: a random free range). */
  portOffset?: number;
  /** Bytes of the bulk transfer through the echo service (default 32 MiB). */
  bulkBytes?: number;
}

const LOOPBACK = new Uint8Array([127, 0, 0, 1]);

/** Runs the demo; resolves with every step (never rejects for a failed step). */
export async function runHostDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const { step, result } = stepRecorder(options.report);
  const rng = new CryptoRng();
  const serverBackend = createHostBackend();
  const serverNet = new Network(serverBackend);
  let server: Awaited<ReturnType<typeof startSockServer>> | undefined;
  for (let attempt = 0; server === undefined && attempt < 5; attempt++) {
    const offset = options.portOffset ?? 20000 + 100 * randomInt(rng, 0, 199);
    try {
      server = await startSockServer(serverNet, { portOffset: offset });
    } catch (e) {
      if (options.portOffset !== undefined || attempt === 4) {
        step(false, 'test server', `could not start: ${(e as Error).message}`);
        await serverNet.close();
        await serverBackend.close();
        return result();
      }
    }
  }
  if (server === undefined) return result();
  const ports = server.ports;
  step(true, 'test server', `${server.listeners.length} listeners on loopback (echo ${ports.echo}, chargen ${ports.chargen}, control ${ports.control})`);
  const target = { name: 'localhost', expectedIp: '127.0.0.1', fallbackIp: LOOPBACK, connectHost: '127.0.0.1', ports };

  // ---- IoT Socket API -------------------------------------------------------
  const clientBackend = createHostBackend();
  const layer = new IotSocketLayer(clientBackend);
  iotSocketRegisterApi(layer.api());
  try {
    await runIotSocketSteps(step, target);
  } finally {
    iotSocketRegisterApi(null);
    await layer.closeAll();
  }

  // ---- Idiomatic API and the Duplex adapter -----------------------------------
  const net = new Network(clientBackend);
  try {
    await runIdiomaticSteps(step, net, target, options.bulkBytes !== undefined ? { bulkBytes: options.bulkBytes } : {});
  } finally {
    await net.close();
    await clientBackend.close();
    await server.close();
    await serverNet.close();
    await serverBackend.close();
  }
  return result();
}
