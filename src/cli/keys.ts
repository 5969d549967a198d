import { emitKeypressEvents } from 'node:readline';

/** A key the watch session acts on: a letter (lowercase), Enter, or the request to quit (Ctrl-C, Ctrl-D). */
export type KeyName = string;

interface Keypress {
  sequence?: string;
  name?: string;
  ctrl?: boolean;
  meta?: boolean;
}

/** Terminals that support it wrap a paste in these, so a paste is never taken for key presses. */
const BRACKETED_PASTE_ON = '\u001b[?2004h';
const BRACKETED_PASTE_OFF = '\u001b[?2004l';

/**
 * Single key presses from a terminal in raw mode, until `stop()` is called. Only plain presses
 * count: a letter, Enter, or Ctrl-C / Ctrl-D (as `quit`). Function keys (F2, Home), other
 * escape sequences and pastes (bracketed, or several characters arriving at once) are ignored,
 * so a paste with a `q` in it does not quit and Home does not reveal a hint.
 */
export function listenForKeys(
  onKey: (key: KeyName) => void,
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stdout,
): { stop(): void } {
  let chunk = '';
  let pasting = false;
  // Runs before readline's own listener (prepended), so each chunk is known before its keypresses arrive.
  const onData = (data: Buffer | string): void => {
    chunk = data.toString();
  };
  const onKeypress = (_text: string | undefined, key: Keypress | undefined): void => {
    if (!key) return;
    if (key.name === 'paste-start') pasting = true;
    if (key.name === 'paste-end') pasting = false;
    if (pasting || key.name === 'paste-start' || key.name === 'paste-end') return;
    const sequence = key.sequence ?? '';
    if (key.ctrl && (key.name === 'c' || key.name === 'd')) return onKey('quit');
    // A press is one whole chunk: several keys at once are a paste (or a replay), not the learner's choice.
    if (sequence !== chunk || key.ctrl || key.meta) return;
    if (key.name === 'return' || key.name === 'enter') return onKey('enter');
    if (/^[a-zA-Z]$/.test(sequence)) onKey(sequence.toLowerCase());
  };
  emitKeypressEvents(input);
  input.prependListener('data', onData);
  input.on('keypress', onKeypress);
  input.setRawMode?.(true);
  input.resume();
  if (output.isTTY) output.write(BRACKETED_PASTE_ON);
  return {
    stop: () => {
      input.off('data', onData);
      input.off('keypress', onKeypress);
      input.setRawMode?.(false);
      input.pause();
      if (output.isTTY) output.write(BRACKETED_PASTE_OFF);
    },
  };
}
