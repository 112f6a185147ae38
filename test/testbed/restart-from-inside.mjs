// Runs inside an nspawn node: restarts a unit through the node's /run/systemd/private with the project's own
// systemd client (dist/systemd, bind-mounted read-only), and prints the unit's state before and after as JSON.
// Plain JS and no node_modules, so the node needs only a Node binary and the compiled client.
//   node restart-from-inside.mjs <dist dir> <unit>
const [dist, unit] = process.argv.slice(2);
const { connectSystemd } = await import(`${dist}/systemd/systemd-client.js`);
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {}, level: 'silent' };
quiet.child = () => quiet;
const systemd = await connectSystemd('/run/systemd/private', quiet);
try {
  const before = await systemd.unitState(unit);
  const outcome = await systemd.restartUnit(unit, 60_000);
  const after = await systemd.unitState(unit);
  process.stdout.write(`${JSON.stringify({ pid: process.pid, before, outcome, after })}\n`);
} finally {
  systemd.close();
}
