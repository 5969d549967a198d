import { SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';

const tracer = trace.getTracer('tracecraft.saga');

/** How the saga ended, on the saga span. */
export const ATTR_SAGA_OUTCOME = 'app.saga.outcome';

export type SagaOutcome = 'completed' | 'compensated' | 'compensation_failed';

/** One local transaction of the saga, and how to undo it. */
export interface SagaStep {
  /** Names the step's spans: `step <name>`, `compensate <name>`. */
  readonly name: string;
  /** Does the step's work; rejects when the step failed, having done nothing. */
  run(): Promise<void>;
  /**
   * Undoes what `run` did. Idempotent: once it has succeeded, calling it again does nothing; and it
   * does nothing for a step that has not completed. A step with nothing to undo has none.
   */
  compensate?(): Promise<void>;
}

export interface SagaResult {
  outcome: SagaOutcome;
  /** The step that failed; absent when the saga completed. */
  failedStep?: string;
  /** What that step failed with. */
  error?: unknown;
  /**
   * For `compensation_failed`: the compensations still to run, in the order to run them (the one
   * that failed first). Empty otherwise.
   */
  pendingCompensations: string[];
}

/** Runs `steps` in order; when one fails, compensates the completed ones in reverse order. */
export async function runSaga(name: string, steps: readonly SagaStep[]): Promise<SagaResult> {
  // TODO: trace the saga: one span `saga <name>` around everything below, active while the steps
  //       run, with ATTR_SAGA_OUTCOME set to the outcome; ERROR only for `compensation_failed`.
  const completed: SagaStep[] = [];
  for (const step of steps) {
    try {
      // TODO: run each step in an active span `step <step.name>`: ERROR with ATTR_ERROR_TYPE
      //       (the error's name) when it fails.
      await step.run();
      completed.push(step);
    } catch (error) {
      // TODO: compensate the completed steps that have a compensation, the last one first, each
      //       in an active span `compensate <step.name>` (ERROR with ATTR_ERROR_TYPE when it fails).
      //       If a compensation fails, stop there: the outcome is `compensation_failed`, and
      //       pendingCompensations lists the failed one and those not attempted, in order.
      return { outcome: 'compensated', failedStep: step.name, error, pendingCompensations: [] };
    }
  }
  return { outcome: 'completed', pendingCompensations: [] };
}
