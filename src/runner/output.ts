import type { UserConsoleLog } from 'vitest';
import type { TestModule } from 'vitest/node';
import type { CapturedOutput } from './results.ts';

/** What one check may keep of the learner's console output; the rest is counted, not kept. */
export const OUTPUT_LIMIT_CHARS = 8_000;

/** Output of one task (a check, or a file while it loads), capped as it arrives so a flood costs no memory. */
class Capture {
  text = '';
  cutChars = 0;
  cutLines = 0;
  add(content: string): void {
    const room = OUTPUT_LIMIT_CHARS - this.text.length;
    if (room >= content.length) {
      this.text += content;
      return;
    }
    if (room > 0) this.text += content.slice(0, room);
    const rest = content.slice(Math.max(0, room));
    this.cutChars += rest.length;
    this.cutLines += rest.split('\n').length - (rest.endsWith('\n') ? 1 : 0);
  }
  result(): CapturedOutput {
    return { text: this.text, cutChars: this.cutChars, cutLines: this.cutLines };
  }
}

/**
 * The learner's console output, per check. Vitest tags every line with the task that wrote it:
 * a test's id, or the file's while it loads.
 */
export class OutputLog {
  private readonly byTask = new Map<string, Capture>();

  add(log: UserConsoleLog): void {
    if (log.taskId === undefined) return;
    let capture = this.byTask.get(log.taskId);
    if (!capture) this.byTask.set(log.taskId, (capture = new Capture()));
    capture.add(log.content);
  }

  /** The output of the module's checks by test id, and of the module itself (written while it loaded); forgotten afterwards. */
  take(module: TestModule): { tests: Map<string, CapturedOutput>; module: CapturedOutput | undefined } {
    const tests = new Map<string, CapturedOutput>();
    for (const test of module.children.allTests()) {
      const capture = this.byTask.get(test.id);
      if (capture) tests.set(test.id, capture.result());
      this.byTask.delete(test.id);
    }
    for (const suite of module.children.allSuites()) this.byTask.delete(suite.id);
    const own = this.byTask.get(module.id)?.result();
    this.byTask.delete(module.id);
    return { tests, module: own };
  }
}
