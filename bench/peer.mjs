// Benchmark peer, run in a worker thread: raw node:net servers that every variant
// talks to, so only the client side differs between a figure and its baseline.
//   sink: reads a 8-byte big-endian length N, then N bytes, then answers 1 byte.
//   echo: echoes everything.
import net from 'node:net';
import { parentPort } from 'node:worker_threads';

const sink = net.createServer((s) => {
  s.setNoDelay(true);
  let want = -1n, got = 0n, head = Buffer.alloc(0);
  s.on('data', (d) => {
    if (want < 0n) {
      head = Buffer.concat([head, d]);
      if (head.length < 8) return;
      want = head.readBigUInt64BE(0);
      d = head.subarray(8);
    }
    got += BigInt(d.length);
    if (got >= want) {
      s.write(Buffer.from([1]));
      want = -1n; got = 0n; head = Buffer.alloc(0);
    }
  });
  s.on('error', () => {});
});
const echo = net.createServer((s) => {
  s.setNoDelay(true);
  s.on('data', (d) => s.write(d));
  s.on('error', () => {});
});
await new Promise((r) => sink.listen(0, '127.0.0.1', r));
await new Promise((r) => echo.listen(0, '127.0.0.1', r));
parentPort.postMessage({ sink: sink.address().port, echo: echo.address().port });
parentPort.on('message', (m) => {
  if (m === 'stop') {
    sink.close();
    echo.close();
    parentPort.close();
  }
});
