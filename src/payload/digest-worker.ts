import { Worker } from 'node:worker_threads';

/**
 * The worker's code, as a string run with `eval`: the same text works from src/ (tests), dist/ and the
 * single-file bundle, where a separate worker file would not exist. It hashes batches of slices of
 * shared buffers in order, one sha256 per open id, and answers each batch with the digests it finished;
 * a `file` op hashes an open fd at explicit offsets (the fd's own offset belongs to the decompressor).
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { readSync } = require('node:fs');
const open = new Map();
parentPort.on('message', (message) => {
  if (message.close === true) {
    parentPort.close();
    return;
  }
  if (message.file !== undefined) {
    try {
      const hash = createHash('sha256');
      const chunk = Buffer.allocUnsafe(1 << 20);
      for (let position = 0; ; ) {
        const n = readSync(message.file, chunk, 0, chunk.length, position);
        if (n === 0) break;
        hash.update(chunk.subarray(0, n));
        position += n;
      }
      parentPort.postMessage({ seq: message.seq, digests: [], file: hash.digest('hex') });
    } catch (error) {
      parentPort.postMessage({ seq: message.seq, error: String(error && error.message || error) });
    }
    return;
  }
  const digests = [];
  for (const op of message.ops) {
    let hash = open.get(op.id);
    if (hash === undefined) {
      hash = createHash('sha256');
      open.set(op.id, hash);
    }
    if (op.bytes !== undefined) hash.update(op.bytes);
    else if (op.buffer !== undefined) hash.update(new Uint8Array(op.buffer, op.offset, op.length));
    if (op.end) {
      digests.push([op.id, hash.digest('hex')]);
      open.delete(op.id);
    }
  }
  parentPort.postMessage({ seq: message.seq, digests });
});
parentPort.postMessage({ ready: true });
`;

type Op =
  | { readonly id: number; readonly buffer: SharedArrayBuffer; readonly offset: number; readonly length: number }
  | { readonly id: number; readonly bytes: Uint8Array }
  | { readonly id: number; readonly end: true };

interface Reply {
  readonly ready?: true;
  readonly seq?: number;
  readonly digests?: readonly [number, string][];
  readonly file?: string;
  readonly error?: string;
}

/** One file's digest being computed by the worker: slices go in with `update`, the hex comes out of `end`. */
export interface WorkerDigest {
  update(chunk: Buffer): void;
  end(): Promise<string>;
}

/**
 * sha256 on a worker thread, so the manifest's per-file digests (about half of the unpack's CPU) no
 * longer run on the thread that parses and issues the writes. Slices of buffers backed by a
 * SharedArrayBuffer (the unpack's pool) are hashed in place, others are copied; `flush` posts what
 * was queued and resolves once the worker has hashed it, which is when a pooled buffer may be reused.
 * The worker takes a while to start (tens of ms, more on a busy node): until `ready`, callers hash on
 * their own thread.
 */
export class DigestWorker {
  private readonly worker: Worker;
  private queued: Op[] = [];
  private nextId = 1;
  private nextSeq = 1;
  private readonly batches = new Map<number, { resolve(file: string | undefined): void; reject(error: Error): void }>();
  private readonly digests = new Map<number, { resolve(hex: string): void; reject(error: Error): void }>();
  private failure: Error | undefined;
  private running = false;
  private exited = false;
  private readonly startedSignal: Promise<void>;
  private signalStarted: () => void = () => undefined;

  constructor() {
    this.startedSignal = new Promise((resolve) => {
      this.signalStarted = resolve;
    });
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
   * A worker, or undefined when the process cannot start one (thread limits): the unpack then hashes
   * on its own thread, slower but the same.
   */
  static tryStart(): DigestWorker | undefined {
    try {
      return new DigestWorker();
    } catch {
      return undefined;
    }
  }

  /** True once the worker runs: from then on a new digest costs this thread only a message. */
  get ready(): boolean {
    return this.running && this.failure === undefined;
  }

  /** Resolves once the worker runs (tests use it to exercise the worker path on tiny payloads). */
  whenReady(): Promise<void> {
    return this.startedSignal;
  }

  /** Starts one file's digest. */
  start(): WorkerDigest {
    const id = this.nextId++;
    return {
      update: (chunk) => {
        if (chunk.buffer instanceof SharedArrayBuffer)
          this.queued.push({ id, buffer: chunk.buffer, offset: chunk.byteOffset, length: chunk.length });
        else this.queued.push({ id, bytes: new Uint8Array(chunk) });
      },
      end: () =>
        new Promise<string>((resolve, reject) => {
          if (this.failure !== undefined) return reject(this.failure);
          this.digests.set(id, { resolve, reject });
          this.queued.push({ id, end: true });
        }),
    };
  }

  /** Posts the queued slices; resolves when the worker has hashed them (at once when nothing is queued). */
  flush(): Promise<void> {
    if (this.queued.length === 0) return Promise.resolve();
    const ops = this.queued;
    this.queued = [];
    return this.post({ ops }).then(() => undefined);
  }

  /** sha256 of a whole open file, read by the worker at explicit offsets. */
  async hashFile(fd: number): Promise<string> {
    return (await this.post({ file: fd })) ?? '';
  }

  /**
   * Stops the worker; pending digests fail. The worker is asked to close its port, so it exits between two
   * messages: terminating it while it hashes a slice of the shared pool could abort the whole process
   * (SIGABRT seen in about one refused payload in six). terminate() stays the fallback after 5 s.
   */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ close: true });
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }

  private post(message: { ops: Op[] } | { file: number }): Promise<string | undefined> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const seq = this.nextSeq++;
    return new Promise<string | undefined>((resolve, reject) => {
      this.batches.set(seq, { resolve, reject });
      this.worker.postMessage({ seq, ...message });
    });
  }

  private receive(reply: Reply): void {
    if (reply.ready === true) {
      this.running = true;
      this.signalStarted();
      return;
    }
    const seq = reply.seq ?? 0;
    const batch = this.batches.get(seq);
    this.batches.delete(seq);
    if (reply.error !== undefined) {
      batch?.reject(new Error(`hashing the payload failed: ${reply.error}`));
      return;
    }
    for (const [id, hex] of reply.digests ?? []) {
      this.digests.get(id)?.resolve(hex);
      this.digests.delete(id);
    }
    batch?.resolve(reply.file);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of [...this.batches.values(), ...this.digests.values()]) waiter.reject(this.failure);
    this.batches.clear();
    this.digests.clear();
  }
}
