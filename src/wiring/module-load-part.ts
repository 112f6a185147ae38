import { judgeModules, planModuleStep, type ModulesBefore } from '../core/module-load-plan.js';
import type { HostFs } from '../host/host-fs.js';
import type { Logger } from '../host/logger.js';
import type { Settings } from '../settings/settings.js';
import { connectSystemd } from '../systemd/systemd-client.js';
import type { ModuleLoadPart } from '../transaction/parts.js';

/** Ample for a host's modules-load: it loads a handful of modules and exits. */
const LOAD_DEADLINE_MS = 60_000;

/**
 * Loads the modules through the host's own systemd-modules-load.service, restarted over systemd's D-Bus
 * socket (no SYS_MODULE, no host modprobe in the pod), then reads /sys/module under the host root for
 * each wanted module. A failed or unreachable job is only reported: the kernel's list decides.
 */
export function moduleLoadPart(
  before: ModulesBefore,
  settings: Pick<Settings, 'restart' | 'requireKvm' | 'systemdSocket'>,
  fs: HostFs,
  log: Logger,
): ModuleLoadPart {
  return {
    async load() {
      const step = planModuleStep(before, settings.restart);
      if (step.kind === 'none') return;
      if (step.kind === 'unreadable') {
        log.warn('cannot read /sys/module under the host root: the kernel modules Kata needs are not verified');
        return;
      }
      const how = step.kind === 'load' ? await restartModulesLoad(step.unit, settings.systemdSocket, fs, log) : '';
      const present = new Set<string>();
      for (const module of before.wanted) if (await fs.exists(`/sys/module/${module.name}`)) present.add(module.name);
      const verdict = judgeModules(
        before,
        present,
        settings.requireKvm,
        step.kind === 'load' ? how : '--restart none (nothing loaded)',
      );
      log.info(
        { loaded: verdict.loaded, missing: verdict.stillMissing, load: how || 'skipped (--restart none)' },
        verdict.loaded.length > 0 ? `loaded kernel module(s) ${verdict.loaded.join(', ')}` : 'kernel modules checked',
      );
      if (verdict.refusal !== undefined) throw verdict.refusal;
      if (verdict.missingRequired.length > 0)
        log.warn(
          { modules: verdict.missingRequired },
          `kernel module(s) ${verdict.missingRequired.join(', ')} missing (KATA_REQUIRE_KVM=false): no Kata pod ` +
            `can start on this node until they are loaded (modprobe ${verdict.missingRequired.join(' ')})`,
        );
      else if (verdict.stillMissing.length > 0)
        log.warn(
          { modules: verdict.stillMissing },
          `optional kernel module(s) ${verdict.stillMissing.join(', ')} not loaded (Kata runs without them)`,
        );
    },
  };
}

/** Restarts the unit and says how its job ended, or why it could not be asked; never throws. */
async function restartModulesLoad(unit: string, socket: string, fs: HostFs, log: Logger): Promise<string> {
  try {
    const systemd = await connectSystemd(await fs.realPath(socket), log);
    try {
      const outcome = await systemd.restartUnit(unit, LOAD_DEADLINE_MS);
      return `restarting ${unit} (job ${outcome.result}, unit ${outcome.state.activeState}/${outcome.state.subState})`;
    } finally {
      systemd.close();
    }
  } catch (error) {
    log.warn({ error: (error as Error).message, unit }, 'could not restart the host unit that loads kernel modules');
    return `trying to restart ${unit} (${(error as Error).message})`;
  }
}
