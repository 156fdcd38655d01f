import type { ReservationHooks } from '../features/reservations/reservations';

/**
 * The env-guarded crash point behind INVENTORY_TEST_CRASH_AFTER_HOLD: with no value it returns no
 * hooks at all, so a normal run has nothing in the path. SIGKILL, not exit: no shutdown hook, no
 * offset commit, no flush, exactly like a machine losing the process.
 */
export function crashSwitchHooks(target: string): ReservationHooks {
  if (target === '') return {};
  return {
    afterHold: ({ orderId, sku }) => {
      if (target !== '*' && target !== orderId) return;
      process.stderr.write(
        `${JSON.stringify({ level: 'warn', msg: 'test crash switch: SIGKILL after hold', orderId, sku })}\n`,
      );
      process.kill(process.pid, 'SIGKILL');
    },
  };
}
