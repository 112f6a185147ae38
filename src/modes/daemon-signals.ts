/**
 * Resolves with the first SIGTERM or SIGINT. The kubelet sends SIGTERM when the pod is deleted, and
 * the daemon has terminationGracePeriodSeconds to decide and, on teardown, to uninstall.
 */
export function terminationSignal(): { readonly signal: Promise<NodeJS.Signals>; dispose(): void } {
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = resolve;
  });
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return {
    signal,
    dispose: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}
