/**
 * The README's examples, run through the package's public entry points (self-reference
 * by name, so the `exports` map is exercised too): if an example stops working, this fails.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import { Network, connect, isSocketError, listen } from 'iotnet';
import { createHostBackend, hostSocketApi } from 'iotnet/host';
import { IotnetHttpAgent, httpRequest } from 'iotnet/http';
import {
  IOT_SOCKET_AF_INET, IOT_SOCKET_ERROR, IOT_SOCKET_IPPROTO_TCP, IOT_SOCKET_SOCK_STREAM, iotSocketClose,
  iotSocketConnect, iotSocketCreate, iotSocketRecv, iotSocketRegisterApi, iotSocketSend,
} from 'iotnet/iot-socket';

describe('README examples', () => {
  it('IoT Socket: nothing registered -> ERROR; register the host stack; echo round trip', async () => {
    iotSocketRegisterApi(null);
    assert.equal(await iotSocketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, IOT_SOCKET_IPPROTO_TCP), IOT_SOCKET_ERROR);
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const port = (echo.address() as net.AddressInfo).port;
    try {
      assert.equal(iotSocketRegisterApi(hostSocketApi()), 0);
      const sock = await iotSocketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, IOT_SOCKET_IPPROTO_TCP);
      assert.ok(sock > 0);
      assert.equal(await iotSocketConnect(sock, new Uint8Array([127, 0, 0, 1]), 4, port), 0);
      assert.equal(await iotSocketSend(sock, new TextEncoder().encode('hello'), 5), 5);
      const buf = new Uint8Array(64);
      let n = 0;
      while (n < 5) n += await iotSocketRecv(sock, buf.subarray(n), buf.length - n);
      assert.equal(new TextDecoder().decode(buf.subarray(0, n)), 'hello');
      assert.equal(await iotSocketClose(sock), 0);
    } finally {
      iotSocketRegisterApi(null);
      echo.close();
    }
  });

  it('idiomatic: listen + async iteration echo, connect, write, read, close; isSocketError', async () => {
    const server = await listen({ port: 0, host: '127.0.0.1' });
    void (async () => {
      for await (const peer of server) for await (const chunk of peer) await peer.write(chunk);
    })();
    const sock = await connect(server.address.toString(), { timeoutMs: 2000 });
    await sock.write('ping');
    const reply = await sock.read({ timeoutMs: 1000 });
    assert.equal(new TextDecoder().decode(reply ?? new Uint8Array()), 'ping');
    await sock.close();
    await server.close();
    // A port nobody listens on: ECONNREFUSED, numeric errno -11, with detail.
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const freePort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(connect(`127.0.0.1:${freePort}`, { timeoutMs: 1000 }), (e: unknown) => {
      assert.ok(isSocketError(e, 'ECONNREFUSED'));
      assert.equal(e.errno, -11);
      assert.equal(e.detail.op, 'connect');
      return true;
    });
  });

  it('HTTP over any stack: node:http through IotnetHttpAgent, httpRequest with a JSON body', async () => {
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, body })));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const backend = createHostBackend();
    const network = new Network(backend);
    const agent = new IotnetHttpAgent(network);
    try {
      const text = await new Promise<string>((resolve, reject) => {
        http.get(`http://127.0.0.1:${port}/status`, { agent }, (res) => {
          let t = '';
          res.on('data', (d: Buffer) => (t += d.toString()));
          res.on('end', () => resolve(t));
        }).on('error', reject);
      });
      assert.deepEqual(JSON.parse(text), { method: 'GET', url: '/status', body: '' });
      const res = await httpRequest(network, `http://127.0.0.1:${port}/readings`, {
        agent, method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ t: 21.5 }), timeoutMs: 10_000,
      });
      assert.equal(res.status, 200);
      assert.equal(res.reusedConnection, true);
      assert.deepEqual(res.json(), { method: 'POST', url: '/readings', body: '{"t":21.5}' });
      await assert.rejects(httpRequest(network, 'http://127.0.0.1:1/'), (e: unknown) => isSocketError(e, 'ECONNREFUSED'));
    } finally {
      agent.destroy();
      await network.close();
      await backend.close();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('entry points of issues 8 and 9', () => {
  it('iotnet/netif, iotnet/at and iotnet/userspace export the interfaces, the mux, PPP and the dial-up', async () => {
    const netif = await import('iotnet/netif');
    const at = await import('iotnet/at');
    const us = await import('iotnet/userspace');
    for (const name of ['Mux', 'EthernetInterface', 'WiFiInterface', 'CellularInterface', 'PppInterface', 'InterfaceBase', 'defaultInterface'] as const) {
      assert.equal(typeof netif[name], 'function', name);
    }
    assert.equal(typeof at.CellularDialup, 'function');
    assert.equal(typeof at.pppCarrier, 'function');
    for (const name of ['PppLink', 'SlipLink', 'attachPpp', 'pppCaptureTap', 'DuplexByteStream', 'ByteFaultInjector'] as const) {
      assert.equal(typeof us[name], 'function', name);
    }
  });
});
