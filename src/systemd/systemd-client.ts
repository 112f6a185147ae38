import { KataDeployError } from '../core/errors.js';
import type { Logger } from '../host/logger.js';
import { connectDBus, DBusError, type DBusConnection } from './dbus-connection.js';
import type { DBusMessage } from './dbus-message.js';
import type { DBusArg, DBusValue } from './dbus-wire.js';
import type { JobResult, RestartOutcome, SystemdPort, UnitState } from './systemd-port.js';

const MANAGER = { path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager' } as const;
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const JOB_RESULTS: readonly string[] = ['done', 'canceled', 'timeout', 'failed', 'dependency', 'skipped'];

/**
 * Connects to systemd's private socket (`/run/systemd/private`, or a user manager's
 * `$XDG_RUNTIME_DIR/systemd/private`) and subscribes to job signals. `realSocketPath` is the path as
 * this process sees it (under the host root). Fails with a message naming the socket and the flag.
 */
export async function connectSystemd(realSocketPath: string, log: Logger): Promise<SystemdPort> {
  let connection: DBusConnection;
  try {
    connection = await connectDBus(realSocketPath, process.getuid?.() ?? 0);
  } catch (error) {
    throw socketError(realSocketPath, error);
  }
  log.debug({ socket: realSocketPath }, 'connected to systemd');
  return systemdOverConnection(connection, log);
}

/** The port over an already authenticated connection: subscribes to job signals first. */
export async function systemdOverConnection(connection: DBusConnection, log: Logger): Promise<SystemdPort> {
  const client = new SystemdClient(connection, log);
  await managerCall(connection, 'Subscribe', [], 'subscribe to job signals');
  return client;
}

function socketError(socketPath: string, error: unknown): KataDeployError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'does not exist (is systemd running, and is its /run mounted into this container?)'
      : code === 'EACCES' || code === 'EPERM'
        ? 'refused access (it needs root on the host)'
        : `could not be used: ${(error as Error).message}`;
  return new KataDeployError('restart-failed', `systemd socket ${socketPath} ${why}`, {
    hint:
      "point --systemd-socket at systemd's private socket (default /run/systemd/private), or use --restart none " +
      'to only write files',
    cause: error,
  });
}

async function managerCall(
  connection: DBusConnection,
  member: string,
  args: readonly (string | number)[],
  what: string,
  timeoutMs?: number,
): Promise<DBusValue[]> {
  try {
    return await connection.call({ ...MANAGER, member, args: encodeArgs(args) }, timeoutMs);
  } catch (error) {
    const detail = error instanceof DBusError ? `${error.errorName}: ${error.message}` : String(error);
    throw new KataDeployError('restart-failed', `systemd could not ${what}: ${detail}`, {
      hint: 'check `systemctl status` and `journalctl -u` for the unit on the host',
      cause: error,
    });
  }
}

/** Manager methods take only strings and int32s (KillUnit's signal). */
function encodeArgs(args: readonly (string | number)[]): DBusArg[] {
  return args.map((value): DBusArg => (typeof value === 'number' ? { type: 'i', value } : { type: 's', value }));
}

class SystemdClient implements SystemdPort {
  private readonly finishedJobs = new Map<string, JobResult>();
  private readonly waiters = new Map<string, (result: JobResult) => void>();

  constructor(
    private readonly connection: DBusConnection,
    private readonly log: Logger,
  ) {
    connection.onSignal((message) => this.onSignal(message));
  }

  /**
   * JobRemoved can in principle arrive before we have read RestartUnit's reply (the job path), so
   * results of jobs nobody waits for yet are kept until restartUnit collects them.
   */
  private onSignal(message: DBusMessage): void {
    if (message.member !== 'JobRemoved' || message.interface !== MANAGER.interface) return;
    const [, job, unit, result] = message.body as [number, string, string, string];
    const jobResult = (JOB_RESULTS.includes(result) ? result : 'failed') as JobResult;
    this.log.debug({ job, unit, result }, 'systemd job removed');
    const waiter = this.waiters.get(job);
    if (waiter !== undefined) {
      waiter(jobResult);
      return;
    }
    this.finishedJobs.set(job, jobResult);
    if (this.finishedJobs.size > 64) this.finishedJobs.delete(this.finishedJobs.keys().next().value!);
  }

  async reload(): Promise<void> {
    // systemd answers Reload only once every unit file is re-read: seconds on a host with many units.
    await managerCall(this.connection, 'Reload', [], 'reload its unit files (daemon-reload)', 120_000);
  }

  async restartUnit(unit: string, deadlineMs: number): Promise<RestartOutcome> {
    const started = performance.now();
    const [job] = (await managerCall(this.connection, 'RestartUnit', [unit, 'replace'], `restart ${unit}`)) as [string];
    this.log.info({ unit, job }, 'restart job queued');
    const result = await this.waitForJob(job, Math.max(0, deadlineMs - (performance.now() - started)));
    const elapsedMs = Math.round(performance.now() - started);
    const state = await this.unitState(unit);
    this.log.info(
      { unit, result, elapsedMs, activeState: state.activeState, subState: state.subState },
      'restart job finished',
    );
    return { unit, job, result, elapsedMs, state };
  }

  private waitForJob(job: string, waitMs: number): Promise<JobResult> {
    const early = this.finishedJobs.get(job);
    this.finishedJobs.delete(job);
    if (early !== undefined) return Promise.resolve(early);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done('deadline'), waitMs);
      const done = (result: JobResult): void => {
        clearTimeout(timer);
        this.waiters.delete(job);
        resolve(result);
      };
      this.waiters.set(job, done);
    });
  }

  async unitState(unit: string): Promise<UnitState> {
    const [path] = (await managerCall(this.connection, 'LoadUnit', [unit], `load unit ${unit}`)) as [string];
    const unitProps = await this.properties(path, 'org.freedesktop.systemd1.Unit', unit);
    const serviceProps = unit.endsWith('.service')
      ? await this.properties(path, 'org.freedesktop.systemd1.Service', unit)
      : new Map<string, DBusValue>();
    const text = (props: Map<string, DBusValue>, key: string): string =>
      typeof props.get(key) === 'string' ? (props.get(key) as string) : '';
    const num = (props: Map<string, DBusValue>, key: string): number => Number(props.get(key) ?? 0);
    const invocation = unitProps.get('InvocationID');
    return {
      unit,
      loadState: text(unitProps, 'LoadState'),
      activeState: text(unitProps, 'ActiveState'),
      subState: text(unitProps, 'SubState'),
      result: text(serviceProps, 'Result'),
      execMainStatus: num(serviceProps, 'ExecMainStatus'),
      mainPid: num(serviceProps, 'MainPID'),
      nRestarts: num(serviceProps, 'NRestarts'),
      invocationId: Buffer.isBuffer(invocation) ? invocation.toString('hex') : '',
      execMainStartTimestampUs: num(serviceProps, 'ExecMainStartTimestamp'),
    };
  }

  private async properties(path: string, iface: string, unit: string): Promise<Map<string, DBusValue>> {
    try {
      const [entries] = (await this.connection.call({
        path,
        interface: PROPERTIES,
        member: 'GetAll',
        args: [{ type: 's', value: iface }],
      })) as [[string, DBusValue][]];
      return new Map(entries);
    } catch (error) {
      throw new KataDeployError(
        'restart-failed',
        `systemd could not report the state of ${unit}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async signalUnit(unit: string, signal: number): Promise<void> {
    await managerCall(this.connection, 'KillUnit', [unit, 'main', signal], `send signal ${signal} to ${unit}`);
    this.log.info({ unit, signal }, 'signalled unit');
  }

  close(): void {
    this.connection.close();
  }
}
