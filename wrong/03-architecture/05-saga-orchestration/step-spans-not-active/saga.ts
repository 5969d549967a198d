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
export function runSaga(name: string, steps: readonly SagaStep[]): Promise<SagaResult> {
  return tracer.startActiveSpan(`saga ${name}`, async (span) => {
    try {
      const result = await orchestrate(steps);
      span.setAttribute(ATTR_SAGA_OUTCOME, result.outcome);
      if (result.outcome === 'compensation_failed') {
        span.setStatus({ code: SpanStatusCode.ERROR, message: `could not compensate ${result.pendingCompensations.join(', ')}` });
      }
      return result;
    } finally {
      span.end();
    }
  });
}

async function orchestrate(steps: readonly SagaStep[]): Promise<SagaResult> {
  const completed: SagaStep[] = [];
  for (const step of steps) {
    try {
      await traced(`step ${step.name}`, () => step.run());
    } catch (error) {
      // Last in, first out: every state we pass through on the way back is one the forward path
      // also went through (reserved but not charged), never one it cannot produce (charged for
      // goods no longer held).
      const toUndo = completed.reverse().filter((s) => s.compensate !== undefined);
      for (const [i, done] of toUndo.entries()) {
        try {
          await traced(`compensate ${done.name}`, () => done.compensate?.() ?? Promise.resolve());
        } catch {
          // Stop here: the earlier steps' compensations would undo what this step still relies on.
          // Everything left is reported; the compensations are idempotent, so running them all again later is safe.
          return { outcome: 'compensation_failed', failedStep: step.name, error, pendingCompensations: toUndo.slice(i).map((s) => s.name) };
        }
      }
      return { outcome: 'compensated', failedStep: step.name, error, pendingCompensations: [] };
    }
    completed.push(step);
  }
  return { outcome: 'completed', pendingCompensations: [] };
}

/** Runs `work` in an active span of its own, so the backend's spans are its children; ERROR when it fails. */
async function traced(name: string, work: () => Promise<void>): Promise<void> {
  const span = tracer.startSpan(name);
  try {
    await work();
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : typeof error);
    throw error;
  } finally {
    span.end();
  }
}
