import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { listenForKeys } from '../../src/cli/keys.ts';

/** A terminal's input, fed chunk by chunk the way a terminal delivers it. */
function terminal(): { input: NodeJS.ReadStream; output: NodeJS.WriteStream; press(...chunks: string[]): void } {
  const input = new PassThrough() as unknown as NodeJS.ReadStream;
  const output = new PassThrough() as unknown as NodeJS.WriteStream;
  return { input, output, press: (...chunks) => chunks.forEach((c) => input.write(c)) };
}

async function keysFor(...chunks: string[]): Promise<string[]> {
  const t = terminal();
  const keys: string[] = [];
  const listening = listenForKeys((key) => keys.push(key), t.input, t.output);
  t.press(...chunks);
  await new Promise((resolve) => setImmediate(resolve));
  listening.stop();
  return keys;
}

describe('listenForKeys', () => {
  it('passes on plain letters (lowercased) and Enter', async () => {
    expect(await keysFor('h', 'N', '\r')).toEqual(['h', 'n', 'enter']);
  });

  it('turns Ctrl-C and Ctrl-D into quit', async () => {
    expect(await keysFor('\u0003')).toEqual(['quit']);
    expect(await keysFor('\u0004')).toEqual(['quit']);
  });

  it('ignores function keys and other escape sequences: F2 does not quit, F3 does not reset, Home shows no hint', async () => {
    expect(await keysFor('\u001bOQ', '\u001bOR', '\u001b[H', '\u001b[1;5A', '\u001b')).toEqual([]);
  });

  it('ignores a paste, bracketed or not, even with a q in it', async () => {
    expect(await keysFor('hello quit')).toEqual([]);
    expect(await keysFor('\u001b[200~q\u001b[201~')).toEqual([]);
    expect(await keysFor('\u001b[200~', 'q', '\u001b[201~', 'h')).toEqual(['h']);
  });

  it('reads the keys of a second session on the same input, after the first one stopped', async () => {
    const t = terminal();
    const first: string[] = [];
    const one = listenForKeys((k) => first.push(k), t.input, t.output);
    t.press('a');
    await new Promise((resolve) => setImmediate(resolve));
    one.stop();
    const second: string[] = [];
    const two = listenForKeys((k) => second.push(k), t.input, t.output);
    t.press('b', 'cd');
    await new Promise((resolve) => setImmediate(resolve));
    two.stop();
    expect(first).toEqual(['a']);
    expect(second).toEqual(['b']);
  });
});
