import { TUNING } from './tuning';
/**
 * Runs `attempt` until it succeeds or `timeoutMs` passes, backing off between
 * tries; for start-up steps whose dependency may still be starting.
 */
export async function retryUntil<T>(what: string, attempt: () => Promise<T>, onRetry: (error: unknown) => void, timeoutMs = TUNING.startupTimeoutMs): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${Math.round(timeoutMs / 1000)} s: ${String(error)}`);
      onRetry(error);
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** tries, 5_000)));
    }
  }
}
