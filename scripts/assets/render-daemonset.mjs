// Writes the top-level daemonset.yaml from assets/base (see kustomize.mjs). With --check it writes nothing
// and exits 1 when the file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, renderedDaemonSet } from './kustomize.mjs';

const target = path.join(ROOT, 'daemonset.yaml');
const rendered = renderedDaemonSet();
if (process.argv.includes('--check')) {
  if (readFileSync(target, 'utf8') !== rendered) {
    console.error('daemonset.yaml differs from `kubectl kustomize assets/base`: run npm run render:daemonset');
    process.exit(1);
  }
} else {
  writeFileSync(target, rendered);
  console.log('daemonset.yaml: rendered from assets/base');
}
