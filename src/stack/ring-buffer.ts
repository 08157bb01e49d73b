/**
 * A byte ring buffer for TCP send and receive queues.
 *
 * Memory is allocated lazily (on the first write) and released on request with
 * `release()` once the ring is empty (the TCB does so after a second without data),
 * so 10,000 idle connections cost no buffer memory, while a busy connection keeps its
 * store instead of reallocating it for every message (freeing on every drain caused a
 * full GC every few milliseconds under "external memory pressure"). The capacity is
 * fixed per ring (the socket's buffer size); the store is that size, in one piece.
 *
 * Offsets passed to `peek`/`writeAt` are relative to the read position, which is
 * what TCP needs: the send queue peeks unacknowledged data at `SND.NXT - SND.UNA`,
 * the receive queue writes out-of-order data at `seq - RCV.NXT`.
 */
export class RingBuffer {
  readonly capacity: number;
  private buf: Uint8Array | undefined;
  private head = 0; // read position
  private len = 0; // bytes stored (contiguous from head)

  /**
   * Set while out-of-order bytes live beyond `length` (the receive queue): an empty
   * ring must then keep its store. The TCP receiver sets it from its assembler.
   */
  keepOutOfOrder = false;

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.floor(capacity));
  }

  /** Bytes stored. */
  get length(): number {
    return this.len;
  }

  /** Free space (bytes that `write` can still take). */
  get free(): number {
    return this.capacity - this.len;
  }

  /** Whether the backing store is allocated (for memory accounting). */
  get allocated(): boolean {
    return this.buf !== undefined;
  }

  private store(): Uint8Array {
    if (this.buf === undefined) {
      this.buf = new Uint8Array(this.capacity);
      this.head = 0;
    }
    return this.buf;
  }

  /** Appends up to `src.length` bytes; returns the number taken. */
  write(src: Uint8Array): number {
    const n = Math.min(src.length, this.capacity - this.len);
    if (n === 0) return 0;
    this.copyIn(this.len, src, n);
    this.len += n;
    return n;
  }

  /**
   * Writes `src` at `offset` bytes from the read position without changing the length:
   * out-of-order TCP data lands beyond `length` and is made readable later with
   * `commit`. Bytes that would fall beyond the capacity are not written; returns the
   * number written.
   */
  writeAt(offset: number, src: Uint8Array): number {
    if (offset < 0 || offset >= this.capacity) return 0;
    const n = Math.min(src.length, this.capacity - offset);
    if (n <= 0) return 0;
    this.copyIn(offset, src, n);
    return n;
  }

  /** Extends the stored length by `n` bytes already written with `writeAt` (clamped to capacity). */
  commit(n: number): void {
    this.len = Math.min(this.capacity, this.len + Math.max(0, n));
  }

  private copyIn(offset: number, src: Uint8Array, n: number): void {
    const buf = this.store();
    let pos = (this.head + offset) % this.capacity;
    const first = Math.min(n, this.capacity - pos);
    buf.set(first === src.length ? src : src.subarray(0, first), pos);
    if (first < n) {
      pos = 0;
      buf.set(src.subarray(first, n), pos);
    }
  }

  /** Copies up to `dst.length` bytes from the front into `dst` and removes them; returns the count. */
  read(dst: Uint8Array): number {
    const n = this.copyOut(0, dst, Math.min(dst.length, this.len));
    this.consume(n);
    return n;
  }

  /** Copies `n` bytes starting `offset` bytes from the front into `dst` (at `dstOffset`), without removing them. */
  copyOut(offset: number, dst: Uint8Array, n: number, dstOffset = 0): number {
    const buf = this.buf;
    if (buf === undefined || n <= 0) return 0;
    const count = Math.min(n, Math.max(0, this.capacity - offset));
    let pos = (this.head + offset) % this.capacity;
    const first = Math.min(count, this.capacity - pos);
    dst.set(buf.subarray(pos, pos + first), dstOffset);
    if (first < count) {
      pos = 0;
      dst.set(buf.subarray(0, count - first), dstOffset + first);
    }
    return count;
  }

  /**
   * Up to two views (valid until the next mutation) covering `n` bytes from `offset`:
   * `[a]` or `[a, b]` when the range wraps. Zero-copy access for segment emission.
   */
  peek(offset: number, n: number): Uint8Array[] {
    const buf = this.buf;
    const count = Math.min(n, this.len - offset);
    if (buf === undefined || count <= 0 || offset < 0) return [];
    const pos = (this.head + offset) % this.capacity;
    const first = Math.min(count, this.capacity - pos);
    if (first === count) return [buf.subarray(pos, pos + count)];
    return [buf.subarray(pos, pos + first), buf.subarray(0, count - first)];
  }

  /** Removes `n` bytes from the front (acknowledged or read data). */
  consume(n: number): void {
    const k = Math.min(Math.max(0, n), this.len);
    this.len -= k;
    // Out-of-order bytes are stored relative to `head`: it keeps moving with the data.
    this.head = (this.head + k) % this.capacity;
  }

  /**
   * Frees the backing store if the ring is empty and holds no out-of-order bytes.
   * Returns whether memory was released.
   */
  release(): boolean {
    if (this.buf === undefined || this.len !== 0 || this.keepOutOfOrder) return false;
    this.buf = undefined;
    this.head = 0;
    return true;
  }

  /** Drops everything and frees the memory. */
  clear(): void {
    this.len = 0;
    this.head = 0;
    this.buf = undefined;
  }
}
