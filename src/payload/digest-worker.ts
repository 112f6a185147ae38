import { Worker } from 'node:worker_threads';

/**
 * The worker's code, as a string run with `eval`: the same text works from src/ (tests), dist/ and the
 * single-file bundle, where a separate worker file would not exist. It hashes an open fd at explicit
 * offsets (the fd's own offset belongs to the decompressor), and stops early once the shared cancel
 * flag is set.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { readSync } = require('node:fs');
parentPort.on('message', (message) => {
  if (message.close === true) {
    parentPort.close();
    return;
  }
  try {
    const cancel = new Int32Array(message.cancel);
    const hash = createHash('sha256');
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (let position = 0; Atomics.load(cancel, 0) === 0; ) {
      const n = readSync(message.file, chunk, 0, chunk.length, position);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
      position += n;
    }
    const cancelled = Atomics.load(cancel, 0) !== 0;
    parentPort.postMessage({ seq: message.seq, file: cancelled ? undefined : hash.digest('hex'), cancelled });
  } catch (error) {
    parentPort.postMessage({ seq: message.seq, error: String(error && error.message || error) });
  }
});
`;

interface Reply {
  readonly seq: number;
  readonly file?: string;
  readonly cancelled?: boolean;
  readonly error?: string;
}

/**
 * sha256 of the archive on a worker thread, reading the very fd the decompressor reads: the payload's
 * identity costs the thread that parses and issues the writes nothing. `cancel` ends a hash early (a
 * refused payload need not be read to its end).
 */
export class DigestWorker {
  private readonly worker: Worker;
  private nextSeq = 1;
  private readonly waiting = new Map<number, { resolve(hex: string): void; reject(error: Error): void }>();
  private readonly cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  private failure: Error | undefined;
  private exited = false;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => this.receive(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', () => {
      this.exited = true;
      this.fail(new Error('the digest worker exited'));
    });
  }

  /**
   * A worker, or undefined when the process cannot start one (thread limits): the archive is then
   * hashed on the calling thread, slower but the same.
   */
  static tryStart(): DigestWorker | undefined {
    try {
      return new DigestWorker();
    } catch {
      return undefined;
    }
  }

  /** sha256 of a whole open file, read by the worker at explicit offsets. */
  hashFile(fd: number): Promise<string> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const seq = this.nextSeq++;
    return new Promise<string>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.worker.postMessage({ seq, file: fd, cancel: this.cancelFlag.buffer });
    });
  }

  /** Stops the hash under way (and any later one): its promise rejects. */
  cancel(): void {
    Atomics.store(this.cancelFlag, 0, 1);
  }

  /**
   * Stops the worker; pending digests fail. The worker is asked to close its port, so it exits between two
   * messages rather than in the middle of a read. terminate() stays the fallback after 5 s.
   */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ close: true });
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }

  private receive(reply: Reply): void {
    const waiter = this.waiting.get(reply.seq);
    this.waiting.delete(reply.seq);
    if (reply.error !== undefined) waiter?.reject(new Error(`hashing the payload failed: ${reply.error}`));
    else if (reply.cancelled === true || reply.file === undefined) waiter?.reject(new Error('hashing was cancelled'));
    else waiter?.resolve(reply.file);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }
}
