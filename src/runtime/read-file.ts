/**
 * Whole-file reads for the apps layer (the dashboard's pcap downloads and prebuilt page bundle):
 * the file's bytes, or `undefined` when there is no such file. Other failures (`EACCES`, `EISDIR`,
 * ...) reject with the file system's error.
 */
import { readFile } from 'node:fs/promises';

/** The bytes of `path`, or undefined when it does not exist. */
export async function readFileIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    const data = await readFile(path);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw err;
  }
}
