import net from 'node:net';
import {
  decodeMessage,
  encodeMethodCall,
  messageLength,
  MessageType,
  type DBusMessage,
  type MethodCall,
} from './dbus-message.js';
import type { DBusValue } from './dbus-wire.js';

/** A D-Bus error reply (e.g. org.freedesktop.systemd1.NoSuchUnit), or the connection failing under a call. */
export class DBusError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = 'DBusError';
  }
}

/** A signal listener; returns nothing, errors are the listener's own business. */
export type SignalListener = (message: DBusMessage) => void;

/** One authenticated peer-to-peer D-Bus connection: method calls with replies, and signals. */
export interface DBusConnection {
  call(call: MethodCall, timeoutMs?: number): Promise<DBusValue[]>;
  onSignal(listener: SignalListener): () => void;
  close(): void;
}

interface Pending {
  readonly resolve: (body: DBusValue[]) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Connects to a peer-to-peer D-Bus socket (systemd's private socket) and authenticates with SASL
 * EXTERNAL. AUTH and BEGIN go out in one write at connect, as sd-bus does: systemd 252 never answers a
 * first method call that shares a read with a BEGIN sent after its OK. No `Hello`: there is no bus.
 */
export function connectDBus(socketPath: string, uid: number, timeoutMs = 5000): Promise<DBusConnection> {
  // biome-ignore lint/nursery/noMisusedPromises: false positive; the executor returns nothing, its nested methods do
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let buffered = Buffer.alloc(0);
    let authenticated = false;
    let serial = 0;
    const pending = new Map<number, Pending>();
    const listeners = new Set<SignalListener>();
    let closedError: Error | undefined;

    const authTimer = setTimeout(
      () => fail(new Error(`no SASL answer from ${socketPath} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const fail = (error: Error): void => {
      clearTimeout(authTimer);
      closedError ??= error;
      for (const [key, call] of pending) {
        clearTimeout(call.timer);
        call.reject(closedError);
        pending.delete(key);
      }
      socket.destroy();
      if (!authenticated) reject(error);
    };

    const dispatch = (message: DBusMessage): void => {
      if (message.type === MessageType.signal) {
        for (const listener of listeners) listener(message);
        return;
      }
      const call = message.replySerial === undefined ? undefined : pending.get(message.replySerial);
      if (call === undefined) return;
      pending.delete(message.replySerial!);
      clearTimeout(call.timer);
      if (message.type === MessageType.error) {
        const text = typeof message.body[0] === 'string' ? message.body[0] : (message.errorName ?? 'unknown error');
        call.reject(new DBusError(message.errorName ?? 'unknown', text));
      } else call.resolve(message.body);
    };

    const connection: DBusConnection = {
      call(call, callTimeoutMs = 10_000) {
        if (closedError !== undefined) return Promise.reject(closedError);
        serial += 1;
        const id = serial;
        return new Promise((resolveCall, rejectCall) => {
          const timer = setTimeout(() => {
            pending.delete(id);
            rejectCall(
              new DBusError('timeout', `${call.interface}.${call.member}: no reply within ${callTimeoutMs} ms`),
            );
          }, callTimeoutMs);
          pending.set(id, { resolve: resolveCall, reject: rejectCall, timer });
          socket.write(encodeMethodCall(call, id));
        });
      },
      onSignal(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      close() {
        fail(new DBusError('closed', `connection to ${socketPath} closed`));
      },
    };

    socket.on('connect', () => {
      const hexUid = Buffer.from(String(uid), 'ascii').toString('hex');
      socket.write(`\0AUTH EXTERNAL ${hexUid}\r\nBEGIN\r\n`);
    });
    socket.on('error', (error) => fail(error));
    socket.on('close', () => fail(new DBusError('closed', `${socketPath} closed the connection`)));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!authenticated) {
        const lineEnd = buffered.indexOf('\r\n');
        if (lineEnd < 0) return;
        const line = buffered.subarray(0, lineEnd).toString('ascii');
        buffered = buffered.subarray(lineEnd + 2);
        if (!line.startsWith('OK '))
          return fail(new Error(`${socketPath} refused SASL EXTERNAL for uid ${uid}: ${line}`));
        authenticated = true;
        clearTimeout(authTimer);
        resolve(connection);
      }
      for (let length = messageLength(buffered); length !== undefined; length = messageLength(buffered)) {
        const message = buffered.subarray(0, length);
        buffered = buffered.subarray(length);
        try {
          dispatch(decodeMessage(message));
        } catch (error) {
          return fail(error instanceof Error ? error : new Error(String(error)));
        }
      }
    });
  });
}
