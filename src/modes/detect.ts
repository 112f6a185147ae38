import type { Logger } from '../host/logger.js';
import { detectNode, type DetectPorts, type NodeReport } from '../detect/detect-node.js';
import type { Settings } from '../settings/settings.js';

/** `kata-deploy detect`: report what the node is and can run; read-only, safe anywhere. */
export async function runDetect(settings: Settings, ports: DetectPorts, log: Logger): Promise<NodeReport> {
  const report = await detectNode(settings, ports);
  log.info(
    { arch: report.arch, kvmUsable: report.kvm.usable },
    report.kvm.usable ? 'KVM is usable' : `KVM is not usable: ${report.kvm.reason}`,
  );
  if (report.kvm.unproven !== undefined) log.warn({ kvmProven: false }, report.kvm.unproven);
  for (const warning of report.runtime.warnings) log.warn(warning);
  return report;
}

/** A human summary of a node report for terminals. */
export function formatNodeReport(report: NodeReport): string {
  const lines = [
    `arch:     ${report.arch}`,
    `kvm:      ${kvmLine(report.kvm)}`,
    ...report.kvm.evidence.map((line) => `          - ${line}`),
    `tee:      ${
      Object.entries(report.tee.available)
        .filter(([, on]) => on)
        .map(([tee]) => tee)
        .join(', ') || 'none'
    }`,
    `runtime:  ${report.runtime.flavour} (${report.runtime.detectedBy})`,
    `config:   ${report.runtime.configPath} ` +
      `${report.runtime.configExists ? `(version ${report.runtime.configVersion ?? '?'})` : '(missing)'}`,
    `daemon:   ${report.runtime.daemonVersion ?? 'unknown'} (from ${report.runtime.daemonVersionSource})`,
    `modules:  ${modulesLine(report.modules)}`,
    'shims:',
    ...report.shims.map(shimLine),
    ...report.runtime.warnings.map((warning) => `warning: ${warning}`),
  ];
  return `${lines.join('\n')}\n`;
}

function kvmLine(kvm: NodeReport['kvm']): string {
  if (!kvm.usable) return `not usable (${kvm.reason})`;
  return kvm.proven ? 'usable' : 'usable, not proven by ioctls (see the evidence below)';
}

function shimLine(shim: NodeReport['shims'][number]): string {
  const reason = shim.reason === undefined ? '' : ` — ${shim.reason}`;
  return `  ${shim.runnable ? '✓' : '✗'} ${shim.shim}${reason}`;
}

function modulesLine(modules: NodeReport['modules']): string {
  const names = modules.wanted.map((module) => module.name).join(' ') || 'none needed';
  if (modules.missing === undefined) return `${names} (cannot read /sys/module)`;
  if (modules.missing.length === 0) return `${names} (all present)`;
  const required =
    modules.missingRequired.length === 0 ? '' : `; no Kata pod starts without ${modules.missingRequired.join(', ')}`;
  return `${names} (missing: ${modules.missing.join(' ')}${required})`;
}
