/**
 * The embedded demo (`npm start`) as a function: two userspace stacks on a virtual
 * switch in real time; the device gets a DHCP lease, resolves the test server through
 * DNS and runs the shared client session. Small bulk transfer to stay quick.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEMO_PROBE_TIMING, EMBEDDED_DEMO_NET, runEmbeddedDemo } from '../../../../src/apps/demo/embedded-demo.ts';
import type { DemoStep } from '../../../../src/apps/demo/client-steps.ts';
import { IOT_SOCKET_AF_INET, IOT_SOCKET_ERROR, IOT_SOCKET_SOCK_STREAM, iotSocketCreate } from '../../../../src/socket/iot-socket.ts';
import { Stack } from '../../../../src/stack/stack.ts';

describe('runEmbeddedDemo', () => {
  it('every step passes: lease from the gateway, DNS from the lease, both APIs, release, nothing left open', async () => {
    const reported: DemoStep[] = [];
    const t0 = Date.now();
    const r = await runEmbeddedDemo({ report: (s) => reported.push(s), bulkBytes: 1024 * 1024 });
    const elapsed = Date.now() - t0;
    assert.ok(r.ok, r.steps.filter((s) => !s.ok).map((s) => `${s.title}: ${s.detail}`).join('\n'));
    assert.deepEqual(reported, r.steps, 'each step reported once, in order');
    assert.deepEqual(r.steps.map((s) => s.title), [
      'virtual network', 'DHCP server (gateway)', 'DNS server (gateway)', 'test server (gateway)',
      'DHCP lease (device)', 'RFC 5227 address probe (device)',
      'iotSocketGetHostByName', 'TCP echo (IoT Socket)', 'UDP echo (IoT Socket)', 'daytime (IoT Socket)', 'non-blocking connect (IoT Socket)',
      'stream.pipeline through the echo service (Duplex)', 'chargen by async iteration (idiomatic API)',
      'TCP bulk through the echo service (idiomatic API)', 'DHCP release (device)', 'everything closed',
    ]);

    const lease = r.lease;
    assert.ok(lease !== undefined);
    const address = Stack.format(lease.address);
    const n = Number(address.split('.')[3]);
    assert.ok(address.startsWith('192.168.7.') && n >= 100 && n <= 199, `address ${address} from the pool`);
    assert.equal(lease.prefixLen, EMBEDDED_DEMO_NET.prefixLen);
    assert.equal(Stack.format(lease.serverId), EMBEDDED_DEMO_NET.gateway);
    assert.deepEqual(lease.dnsServers.map(Stack.format), [EMBEDDED_DEMO_NET.gateway]);
    assert.equal(lease.leaseSeconds, EMBEDDED_DEMO_NET.leaseSeconds);
    assert.equal(lease.domainName, EMBEDDED_DEMO_NET.domain);

    const detail = (title: string): string => r.steps.find((s) => s.title === title)?.detail ?? '';
    assert.match(detail('DHCP lease (device)'), new RegExp(`^${address.replace(/\./g, '\\.')}/24 from 192\\.168\\.7\\.1 in \\d+ ms: router 192\\.168\\.7\\.1, DNS 192\\.168\\.7\\.1, domain iot\\.test, lease 3600 s`));
    assert.match(detail('RFC 5227 address probe (device)'), new RegExp(`^${DEMO_PROBE_TIMING.probeNum} ARP probes .*no conflict.*shortened for the demo`));
    assert.match(detail('iotSocketGetHostByName'), /^sockserver\.iot\.test -> 192\.168\.7\.1 through DNS at 192\.168\.7\.1:53 \(from the lease; 1 query answered\)$/);
    assert.match(detail('stream.pipeline through the echo service (Duplex)'), /with echo\.iot\.test:7$/, 'the idiomatic API connects through the CNAME');
    assert.match(detail('TCP bulk through the echo service (idiomatic API)'), /^1 MiB there and back .*SHA-256 equal$/);
    assert.match(detail('DHCP release (device)'), /released; the gateway's lease table says released \(host iot-device\)$/);
    assert.match(detail('everything closed'), /^sockets left: device 0, gateway 0 /);

    assert.equal(await iotSocketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0), IOT_SOCKET_ERROR, 'the IoT Socket table is unregistered afterwards');
    assert.ok(elapsed < 10_000, `quick (${elapsed} ms)`);
  });
});
