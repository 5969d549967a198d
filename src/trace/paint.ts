/** The few colours the renderers use; plain text by default, chalk in a terminal. */
export interface Paint {
  dim(text: string): string;
  bold(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  magenta(text: string): string;
}

const same = (text: string): string => text;

export const plain: Paint = { dim: same, bold: same, red: same, green: same, yellow: same, cyan: same, magenta: same };

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

export function visibleLength(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

export function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visibleLength(text)));
}

export function truncate(text: string, width: number): string {
  const bare = text.replace(ANSI, '');
  if ([...bare].length <= width) return text;
  return [...bare].slice(0, Math.max(0, width - 1)).join('') + '…';
}
