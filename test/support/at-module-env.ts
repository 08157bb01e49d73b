/**
 * An AT module under test, end to end over a real serial line: a simulator on the master side of
 * a pty pair (its sockets carried by the host stack), and on the slave side serialport, the
 * driver and the generic module socket backend. What the conformance suite, the MQTT interop
 * test and the CLI test share. Each part is closed in reverse order by `close()`.
 */
import type { SocketBackend } from '../../src/backends/contract.ts';
import type { Scheduler } from '../../src/base/time.ts';
import type { ByteStream } from '../../src/link/byte-stream.ts';
import { openPty, type PtyMaster } from '../../src/runtime/pty.ts';
import { openSerialPort, type SerialByteStream } from '../../src/runtime/serial-port.ts';
import { systemScheduler } from '../../src/runtime/system-scheduler.ts';
import type { Network } from '../../src/socket/network.ts';

/** A running simulator. */
export interface RunningSim {
  close(): Promise<void> | void;
}

/** A driver brought up over the host end, with its socket backend. */
export interface RunningDriver {
  readonly backend: SocketBackend;
  close(): Promise<void>;
}

export interface AtModuleParts<S extends RunningSim, D extends RunningDriver> {
  /** Starts the simulator on the module end; its sockets go through `network`. */
  startSim(stream: ByteStream, network: Network, scheduler: Scheduler): S | Promise<S>;
  /** Brings the driver up on the host end (joins WiFi, activates PDP, ...). */
  startDriver(stream: ByteStream, scheduler: Scheduler, sim: S): Promise<D>;
}

export interface AtModuleEnv<S extends RunningSim, D extends RunningDriver> {
  readonly sim: S;
  readonly driver: D;
  readonly backend: SocketBackend;
  /** The pty's slave device the driver opened through serialport. */
  readonly path: string;
  close(): Promise<void>;
}

/** Opens a pty pair, the simulator on the master and the driver over serialport on the slave. */
export async function startAtModule<S extends RunningSim, D extends RunningDriver>(
  parts: AtModuleParts<S, D>,
  network: Network,
  options: { baudRate?: number } = {},
): Promise<AtModuleEnv<S, D>> {
  const scheduler = systemScheduler;
  const master: PtyMaster = openPty();
  let serial: SerialByteStream | undefined;
  let sim: S | undefined;
  try {
    sim = await parts.startSim(master, network, scheduler);
    serial = await openSerialPort(master.path, { baudRate: options.baudRate ?? 115200 });
    const driver = await parts.startDriver(serial, scheduler, sim);
    const opened = serial;
    const running = sim;
    return {
      sim: running,
      driver,
      backend: driver.backend,
      path: master.path,
      async close() {
        await driver.close();
        opened.close();
        await running.close();
        master.close();
      },
    };
  } catch (e) {
    serial?.close();
    await sim?.close();
    master.close();
    throw e;
  }
}
