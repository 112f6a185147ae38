import type { ProgressTask } from '../host/progress.js';
import { pumpArchive, type ArchiveFacts } from './archive-stream.js';
import { pumpLocalArchive } from './local-archive.js';
import type { TarParser } from './tar-parser.js';
import type { TreeWriter } from './tree-writer.js';
import type { DigestWorker } from './digest-worker.js';
import type { PayloadPorts, PayloadSettings } from './types.js';

/**
 * node-fetch and the proxy agent load only for URL payloads (remote-source.js): a local install skips ~40 ms of
 * imports.
 */
export const isRemote = (payload: string): boolean => /^[a-z]+:\/\//i.test(payload);

/** Ends the progress task with the pump's outcome, whatever it is. */
async function reporting<T>(task: ProgressTask | undefined, work: Promise<T>): Promise<T> {
  try {
    const result = await work;
    task?.end('done');
    return result;
  } catch (error) {
    task?.end('failed');
    throw error;
  }
}

/**
 * Streams the payload (a download, or a local file of `localSize` bytes) through the parser into the
 * writer, reporting progress: for a URL the bytes downloaded of its Content-Length, for a file the
 * archive bytes consumed of its size.
 */
export async function pumpPayload(
  settings: PayloadSettings,
  ports: PayloadPorts,
  parser: TarParser,
  writer: TreeWriter,
  hashLocal: boolean,
  localSize: number | undefined,
  archiveDigest?: DigestWorker,
): Promise<ArchiveFacts & { identity?: string }> {
  if (isRemote(settings.payload)) {
    const { openRemotePayload } = await import('./remote-source.js');
    const { body, length } = await openRemotePayload(settings.payload, ports.fetch ?? {});
    const task = ports.progress?.start('download', length);
    const pumped = pumpArchive(body, parser, {
      hash: true,
      backpressure: () => writer.backpressure(),
      ...(task === undefined ? {} : { onBytes: (bytes: number) => task.update(bytes) }),
    });
    return reporting(task, pumped);
  }
  const task = ports.progress?.start('unpack', localSize);
  const pumped = pumpLocalArchive(settings.payload, parser, {
    hash: hashLocal,
    flow: writer,
    ...(archiveDigest === undefined
      ? {}
      : { hashFile: (fd: number) => archiveDigest.hashFile(fd), cancelHash: () => archiveDigest.cancel() }),
    ...(task === undefined ? {} : { onConsumed: (bytes: number) => task.update(bytes) }),
  });
  return reporting(task, pumped);
}
