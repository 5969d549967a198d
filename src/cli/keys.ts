/** Single key presses from a terminal in raw mode, until `stop()` is called. */
export function listenForKeys(onKey: (key: string) => void): { stop(): void } {
  const stdin = process.stdin;
  const onData = (data: Buffer): void => {
    const text = data.toString('utf8');
    // Ctrl-C and Ctrl-D quit, as in any terminal program.
    if (text === '\u0003' || text === '\u0004') onKey('q');
    else for (const key of text) onKey(key.toLowerCase());
  };
  stdin.setRawMode?.(true);
  stdin.resume();
  stdin.on('data', onData);
  return {
    stop: () => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
    },
  };
}
