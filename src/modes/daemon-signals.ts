/**
 * Resolves with the first SIGTERM or SIGINT. The kubelet sends SIGTERM when the pod is deleted, and
 * the daemon has terminationGracePeriodSeconds to decide and, on teardown, to uninstall. The listeners
 * stay until `dispose`, so a repeated signal cannot cut the teardown short (the kubelet's SIGKILL still can).
 */
export function terminationSignal(): { readonly signal: Promise<NodeJS.Signals>; dispose(): void } {
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = resolve;
  });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    signal,
    dispose: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}
