/**
 * The parts of `iotnet/http` that need no server: the package export, agent defaults,
 * `createConnection`'s two calling forms and its synchronous failures, the mapping of
 * `node:http`'s errors, and `HttpResponse`.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { describe, it } from 'node:test';
import * as fromPackage from 'iotnet/http';
import { createHostBackend } from '../../../../src/backends/host/index.ts';
import { SocketError, isSocketError } from '../../../../src/base/socket-error.ts';
import { targetOf, tcpOptionsOf } from '../../../../src/clients/http/agent-connection.ts';
import { DEFAULT_IDLE_TIMEOUT_MS, nodeAgentOptions } from '../../../../src/clients/http/agent-options.ts';
import { toHttpFailure, toHttpSocketError } from '../../../../src/clients/http/http-error.ts';
import { HttpResponse, IotnetHttpAgent, IotnetHttpsAgent, httpRequest } from '../../../../src/clients/http/index.ts';
import { SocketDuplex } from '../../../../src/socket/duplex.ts';
import { Network } from '../../../../src/socket/network.ts';
import { TlsSessionCache } from '../../../../src/tls/index.ts';

const where = { op: 'http', backend: 'test', address: 'h:1' };

/** http.Agent fields missing from Node's type declarations. */
function view(agent: http.Agent): { keepAlive: boolean; options: http.AgentOptions; protocol: string; defaultPort: number } {
  return agent as unknown as { keepAlive: boolean; options: http.AgentOptions; protocol: string; defaultPort: number };
}

function nodeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('iotnet/http support', () => {
  it('is exported as the package subpath iotnet/http', () => {
    assert.equal(fromPackage.IotnetHttpAgent, IotnetHttpAgent);
    assert.equal(fromPackage.IotnetHttpsAgent, IotnetHttpsAgent);
    assert.equal(fromPackage.httpRequest, httpRequest);
    assert.equal(fromPackage.HttpResponse, HttpResponse);
    assert.equal(fromPackage.DEFAULT_MAX_RESPONSE_BYTES, 16 * 1024 * 1024);
  });

  it('agents are http.Agent / https.Agent with Node global agent defaults', async () => {
    const network = new Network(createHostBackend());
    const agent = new IotnetHttpAgent(network);
    assert.ok(agent instanceof http.Agent);
    assert.equal(agent.network, network);
    assert.equal(view(agent).keepAlive, true);
    assert.equal(view(agent).options.timeout, DEFAULT_IDLE_TIMEOUT_MS);
    assert.equal(view(agent).options.scheduling, 'lifo');
    const tlsAgent = new IotnetHttpsAgent(network, { keepAlive: false, maxSockets: 2 });
    assert.ok(tlsAgent instanceof https.Agent);
    assert.equal(view(tlsAgent).protocol, 'https:');
    assert.equal(view(tlsAgent).defaultPort, 443);
    assert.equal(view(tlsAgent).keepAlive, false);
    assert.equal(tlsAgent.maxSockets, 2);
    assert.equal(tlsAgent.options.timeout, undefined);
    assert.ok(tlsAgent.sessionCache instanceof TlsSessionCache);
    // TLS settings are not handed to https.Agent (they would end up in every request's options).
    assert.equal((tlsAgent.options as Record<string, unknown>).ca, undefined);
    assert.deepEqual(nodeAgentOptions({ keepAlive: false, timeout: 10, maxFreeSockets: 3, scheduling: 'fifo' }),
      { keepAlive: false, scheduling: 'fifo', maxFreeSockets: 3, timeout: 10 });
    await network.close();
  });

  it('createConnection: the stream at once, or a SocketError through the callback (thrown without one)', async () => {
    const network = new Network(createHostBackend());
    const agent = new IotnetHttpAgent(network, { connectTimeoutMs: 1000 });
    const stream = agent.createConnection({ host: '127.0.0.1', port: 1, timeout: 5000 });
    assert.ok(stream instanceof SocketDuplex);
    assert.equal(stream.timeout, 5000);
    const [error] = await new Promise<unknown[]>((resolve) => stream.once('error', (...a: unknown[]) => resolve(a)));
    assert.ok(isSocketError(error, 'ECONNREFUSED'));

    let got: unknown[] = [];
    const none = agent.createConnection({ host: 'x', port: 0 }, (...args: unknown[]) => (got = args));
    assert.equal(none, undefined);
    assert.ok(isSocketError(got[0], 'EINVAL'));
    assert.equal(got[0].detail.reason, 'bad-port');
    assert.throws(() => agent.createConnection({ socketPath: '/x' }), (e) => isSocketError(e, 'EINVAL') && e.detail.reason === 'unix-socket-unsupported');
    await network.close();
  });

  it('targets and connect options from node:http request options', () => {
    assert.deepEqual(targetOf({ host: '[fd00::2]', port: '8080' }, where), { host: 'fd00::2', port: 8080 });
    assert.deepEqual(targetOf({ host: 'a.test', hostname: 'ignored', port: 80, family: 6 }, where), { host: 'a.test', port: 80, family: 6 });
    assert.deepEqual(targetOf({ hostname: 'b.test', port: 80, family: 0 }, where), { host: 'b.test', port: 80 });
    assert.deepEqual(targetOf({ port: 80 }, where), { host: 'localhost', port: 80 });
    for (const port of [undefined, 0, 65536, '80x', 1.5]) {
      assert.throws(() => targetOf({ host: 'a', port }, where), (e) => isSocketError(e, 'EINVAL'));
    }
    assert.deepEqual(tcpOptionsOf({ localAddress: '10.0.0.1', localPort: 4000, keepAlive: true }, 500),
      { timeoutMs: 500, localAddress: '10.0.0.1', localPort: 4000, keepAlive: true });
    assert.deepEqual(tcpOptionsOf({ keepAlive: false }, undefined), {});
  });

  it("maps node:http's own errors to SocketErrors and passes others through", () => {
    const hangUp = nodeError('ECONNRESET', 'socket hang up');
    const mapped = toHttpSocketError(hangUp, where);
    assert.ok(isSocketError(mapped, 'ECONNRESET'));
    assert.equal(mapped.detail.reason, 'http-hang-up');
    assert.equal(mapped.cause, hangUp);
    assert.equal((toHttpSocketError(nodeError('ECONNRESET', 'aborted'), where) as SocketError).detail.reason, 'http-aborted');
    assert.equal((toHttpSocketError(nodeError('ERR_STREAM_PREMATURE_CLOSE', 'x'), where) as SocketError).detail.reason, 'http-aborted');
    assert.equal((toHttpSocketError(nodeError('EPIPE', 'x'), where) as SocketError).detail.reason, 'http-hang-up');
    const parse = toHttpSocketError(nodeError('HPE_INVALID_CONSTANT', 'Expected HTTP/'), where);
    assert.ok(isSocketError(parse, 'ECONNABORTED'));
    assert.equal(parse.detail.reason, 'http-protocol');
    const own = new SocketError('ECONNREFUSED', { op: 'connect' });
    assert.equal(toHttpSocketError(own, where), own);
    const abort = new DOMException('aborted', 'AbortError');
    assert.equal(toHttpSocketError(abort, where), abort);
    const user = new Error('mine');
    assert.equal(toHttpSocketError(user, where), user);

    assert.equal(toHttpFailure(user, where).detail.reason, 'http-error');
    assert.equal(toHttpFailure(user, where).code, 'ERROR');
    assert.equal(toHttpFailure(nodeError('ERR_INVALID_HTTP_TOKEN', 'bad'), where).code, 'EINVAL');
    assert.equal(toHttpFailure(own, where), own);
  });

  it('HttpResponse: ok, text and json', () => {
    const make = (status: number, body: string): HttpResponse => new HttpResponse({
      url: 'http://x/', status, statusText: 'S', httpVersion: '1.1', headers: {}, rawHeaders: [],
      body: new TextEncoder().encode(body), reusedConnection: false,
    });
    assert.equal(make(204, '').ok, true);
    assert.equal(make(301, '').ok, false);
    assert.deepEqual(make(200, '{"t":21.5,"n":"é"}').json(), { t: 21.5, n: 'é' });
    assert.equal(make(200, 'grüße').text(), 'grüße');
    assert.throws(() => make(200, 'nope').json(), SyntaxError);
  });
});
