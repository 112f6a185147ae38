// Watches of coordination.k8s.io/v1 Leases for the fake API server, in kube-apiserver's wire format:
// `GET …/leases?watch=true|1&resourceVersion=<rv>` answers 200 with a chunked stream of JSON lines
// `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":…}`. resourceVersion semantics: unset or "0"
// starts with a synthetic ADDED per existing Lease; otherwise every change after <rv> is replayed from
// the retained window, and a <rv> older than that window gets an ERROR event carrying a 410 Expired
// Status (what kube-apiserver sends when the watch cache no longer has it), then the stream ends.
// `timeoutSeconds` ends the stream (after a BOOKMARK when `allowWatchBookmarks=true`), as the server does.
import type { ServerResponse } from 'node:http';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON of a Lease, read field by field
type Obj = Record<string, any>;

/** One change as a watcher sees it: the object after the change (the last state for DELETED). */
export interface LeaseEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly namespace: string;
  readonly version: number;
  readonly object: Obj;
}

interface Watcher {
  readonly namespace: string;
  readonly selects: (lease: Obj) => boolean;
  readonly res: ServerResponse;
  readonly bookmarks: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** The retained change log and the open watch streams. */
export class LeaseWatches {
  /** Changes still replayable; older resourceVersions get 410. */
  private readonly log: LeaseEvent[] = [];
  /** The newest resourceVersion no longer in the log: watching from before it is 410 Gone. */
  private compactedTo = 0;
  private readonly watchers = new Set<Watcher>();
  /** Watch streams opened, and events written to them (every watcher's copy counted). */
  opened = 0;
  eventsSent = 0;
  /** Bumped on every write to a stream, so the fleet benchmark's clock can tell the server is quiet. */
  activity = 0;
  /**
   * When set, each change reaches its watchers once this settles (the fleet benchmark's fixed network
   * latency, on its virtual clock); the watchers are the ones open when the change happened.
   */
  deliveryDelay: (() => Promise<void>) | undefined;

  private readonly window: number;
  private readonly currentVersion: () => number;

  constructor(window: number, currentVersion: () => number) {
    this.window = window;
    this.currentVersion = currentVersion;
  }

  /** Watch streams open now. */
  get open(): number {
    return this.watchers.size;
  }

  /** Records a change and sends it to every watcher of its namespace that selects it. */
  publish(event: LeaseEvent): void {
    this.log.push(event);
    while (this.log.length > this.window) this.compactedTo = this.log.shift()!.version;
    const targets = [...this.watchers].filter(
      (watcher) => watcher.namespace === event.namespace && watcher.selects(event.object),
    );
    const deliver = () => {
      for (const watcher of targets) this.write(watcher, { type: event.type, object: event.object });
    };
    if (this.deliveryDelay === undefined) deliver();
    else void this.deliveryDelay().then(deliver);
  }

  /** Forgets every change so far, as etcd compaction does: a watch from any earlier version gets 410. */
  compact(): void {
    this.compactedTo = this.currentVersion();
    this.log.length = 0;
  }

  /** Cuts every open stream mid-flight (a load balancer or API server going away). */
  breakAll(): void {
    for (const watcher of this.watchers) watcher.res.destroy();
  }

  /** Ends every open stream cleanly, as the server does when a watch's timeout is up. */
  closeAll(): void {
    for (const watcher of this.watchers) this.end(watcher);
  }

  private end(watcher: Watcher): void {
    this.watchers.delete(watcher);
    if (watcher.timer !== undefined) clearTimeout(watcher.timer);
    watcher.res.end();
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watcher that asked for bookmarks. */
  bookmarkAll(): void {
    for (const watcher of this.watchers) if (watcher.bookmarks) this.bookmark(watcher);
  }

  /** Serves one watch request: replays what it missed, then streams until closed or timed out. */
  serve(res: ServerResponse, namespace: string, url: URL, selects: (lease: Obj) => boolean, current: Obj[]): void {
    this.opened += 1;
    const params = url.searchParams;
    const from = params.get('resourceVersion');
    const watcher: Watcher = {
      namespace,
      selects,
      res,
      bookmarks: params.get('allowWatchBookmarks') === 'true',
      timer: undefined,
    };
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (from === null || from === '' || from === '0') {
      for (const object of current) this.write(watcher, { type: 'ADDED', object });
    } else if (Number(from) < this.compactedTo) {
      this.write(watcher, {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${from} (${this.compactedTo})`,
          reason: 'Expired',
          code: 410,
        },
      });
      res.end();
      return;
    } else {
      for (const event of this.log)
        if (event.version > Number(from) && event.namespace === namespace && selects(event.object))
          this.write(watcher, { type: event.type, object: event.object });
    }
    this.watchers.add(watcher);
    res.once('close', () => {
      if (watcher.timer !== undefined) clearTimeout(watcher.timer);
      this.watchers.delete(watcher);
    });
    const timeout = Number(params.get('timeoutSeconds') ?? 0);
    if (timeout > 0)
      watcher.timer = setTimeout(() => {
        if (watcher.bookmarks) this.bookmark(watcher);
        this.end(watcher);
      }, timeout * 1000);
  }

  private bookmark(watcher: Watcher): void {
    this.write(watcher, {
      type: 'BOOKMARK',
      object: {
        kind: 'Lease',
        apiVersion: 'coordination.k8s.io/v1',
        metadata: { resourceVersion: String(this.currentVersion()) },
      },
    });
  }

  private write(watcher: Watcher, event: Obj): void {
    if (watcher.res.writableEnded || watcher.res.destroyed) return;
    this.activity += 1;
    if (event.type !== 'ERROR') this.eventsSent += 1;
    watcher.res.write(`${JSON.stringify(event)}\n`);
  }
}
