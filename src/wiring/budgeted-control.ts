import type { RestartBudget } from '../kube/restart-budget.js';
import type { RuntimeControl } from '../transaction/parts.js';

/**
 * The runtime control with every restart taken under the cluster's restart budget. The slot is taken
 * at preflight (before install writes anything, so an unreachable API server leaves the host as it
 * was) or at the first restart (uninstall, recovery), and kept for a rollback's second restart. A
 * converged node never calls either, so it takes no slot. A failed acquisition is final for the run:
 * a rollback's restart does not wait again, it fails with the same error.
 */
export function budgetedControl(control: RuntimeControl, budget: RestartBudget): RuntimeControl {
  let refused: unknown;
  const acquire = async () => {
    if (refused !== undefined) throw refused;
    try {
      await budget.acquire();
    } catch (error) {
      refused = error;
      throw error;
    }
  };
  return {
    ...control,
    description: `${control.description}, at most ${budget.budget} node(s) restarting at once`,
    preflight: async () => {
      await control.preflight();
      if (control.restarts) await acquire();
    },
    restart: async () => {
      if (control.restarts) await acquire();
      await control.restart();
    },
  };
}
