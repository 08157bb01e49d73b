/**
 * `iotnet sockserver`: the reference test server on the host stack, until SIGINT or SIGTERM.
 */
import { startSockServer } from '../apps/sockserver/index.ts';
import type { SockServerOptions } from '../apps/sockserver/index.ts';
import { createHostBackend } from '../backends/host/index.ts';
import { Network } from '../socket/network.ts';
import { forEachOption, portOffsetArg } from './args.ts';
import { describeError } from './describe-error.ts';
import { UsageError } from './usage-error.ts';

export const SOCKSERVER_USAGE = `Usage: iotnet sockserver [options]

Runs the reference test server (SockServer v1.1 services: echo 7, discard 9,
daytime 13, chargen 19, time 37, TCP and UDP; control 5000; RFC 864 chargen 5019;
5001 stays unused (refused) and 5002 is the black-hole port) on the host stack,
until SIGINT or SIGTERM.

Options:
  --port-offset K       add K to every port (default 0; ports below 1024 need root)
  --host ADDR           listen on ADDR only (default 0.0.0.0 and ::)
  --no-ipv6             IPv4 only
  --chargen-style S     pattern of the chargen port: sockserver (default) or rfc864
  --verbose             report failures inside sessions on stderr
  -h, --help            this text`;

interface SockServerArgs {
  options: SockServerOptions;
  verbose: boolean;
  help: boolean;
}

function parseSockServerArgs(args: readonly string[]): SockServerArgs {
  const options: SockServerOptions = {};
  let verbose = false;
  let help = false;
  forEachOption(args, (name, value, arg) => {
    switch (name) {
      case '--port-offset':
        options.portOffset = portOffsetArg(value());
        break;
      case '--host':
        options.host = value();
        break;
      case '--no-ipv6':
        options.ipv6 = false;
        break;
      case '--chargen-style': {
        const style = value();
        if (style !== 'sockserver' && style !== 'rfc864') throw new UsageError(`--chargen-style: unknown style '${style}'`);
        options.chargenStyle = style;
        break;
      }
      case '--verbose':
        verbose = true;
        break;
      case '-h':
      case '--help':
        help = true;
        break;
      default:
        throw new UsageError(`unknown option '${arg}'`);
    }
  });
  return { options, verbose, help };
}

export async function runSockServer(args: readonly string[]): Promise<number> {
  const parsed = parseSockServerArgs(args);
  if (parsed.help) {
    console.log(SOCKSERVER_USAGE);
    return 0;
  }
  const backend = createHostBackend();
  const network = new Network(backend);
  const options: SockServerOptions = {
    ...parsed.options,
    onError: parsed.verbose ? (e, service) => console.error(`sockserver: ${service}: ${describeError(e)}`) : undefined,
  };
  let server;
  try {
    server = await startSockServer(network, options);
  } catch (e) {
    console.error(`sockserver: cannot start: ${describeError(e)}`);
    if ((options.portOffset ?? 0) === 0) console.error('sockserver: ports below 1024 need root; try --port-offset 20000');
    await network.close();
    await backend.close();
    return 1;
  }
  for (const l of server.listeners) console.log(`sockserver: ${l.service} ${l.protocol} ${l.address.toString()}`);
  if (parsed.options.host === undefined && parsed.options.ipv6 !== false && !server.ipv6) {
    console.log(`sockserver: IPv6 not available (${describeError(server.ipv6Error)})`);
  }
  console.log(`sockserver: refusing port ${server.ports.refusing}, black-hole port ${server.ports.blackHole} (needs a SYN drop filter)`);
  console.log('sockserver: ready; SIGINT or SIGTERM stops');

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  console.log(`sockserver: ${signal}, shutting down`);
  await server.close();
  await network.close();
  await backend.close();
  console.log('sockserver: stopped');
  return 0;
}
