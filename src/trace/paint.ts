import stringWidth from 'string-width';

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

/** Columns a text takes in a terminal: escape codes take none, CJK and emoji take two. */
export function visibleLength(text: string): number {
  return stringWidth(text);
}

export function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visibleLength(text)));
}
