/**
 * Reads PEM files (certificates, keys) for the TLS layer: `{ file }` sources of
 * `TlsOptions`. The text is returned as is; checking it is the TLS layer's job.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** The text of a PEM file. Rejects with the file system's error (`ENOENT`, `EACCES`, ...). */
export function readPemFile(path: string): Promise<string> {
  return readFile(path, 'latin1');
}

/** `readPemFile`, synchronously (for callers that must return a stream at once). */
export function readPemFileSync(path: string): string {
  return readFileSync(path, 'latin1');
}
