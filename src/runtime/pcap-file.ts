/**
 * A file sink for byte chunks, such as `PcapCapture`'s: `new PcapCapture(link, { clock, sink })`.
 *
 * Writes are synchronous appends on an open descriptor, so every chunk is in the file (in the OS
 * page cache) when `sink` returns: a capture of a test that crashes or times out is still complete
 * up to that point. Chunks after `close()` are ignored.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

/** A pcap file being written: `sink` appends a chunk. */
export interface FileSink {
  /** Appends one chunk to the file (synchronous write; nothing after `close()`). */
  sink: (chunk: Uint8Array) => void;
  /** Flushes to disk and closes the file. Idempotent. */
  close(): Promise<void>;
}

/** Creates (or truncates) `path` and returns a sink appending to it. Throws if the file cannot be opened. */
export function pcapFileSink(path: string): FileSink {
  let fd: number | undefined = openSync(path, 'w');
  return {
    sink(chunk: Uint8Array): void {
      if (fd === undefined) return;
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
    },
    async close(): Promise<void> {
      if (fd !== undefined) {
        const f = fd;
        fd = undefined;
        try {
          fsyncSync(f);
        } finally {
          closeSync(f);
        }
      }
    },
  };
}
