/**
 * Fitting text to the learner's terminal: prose wraps at word boundaries (never "reje|cted"),
 * pictures (trees, waterfalls) are cut with an ellipsis so their columns stay aligned. Widths are
 * display widths: a CJK character or an emoji takes two columns, an escape code none.
 */
import wrapAnsi from 'wrap-ansi';
import { visibleLength } from '../trace/paint.ts';

/** Columns to lay text out in: the terminal's, or a reading width when the output is not a terminal. */
export function outputWidth(stream: NodeJS.WriteStream = process.stdout): number {
  return stream.isTTY && stream.columns ? stream.columns : 120;
}

/**
 * Wraps each line of `text` to `width` columns at word boundaries, keeping the line's own leading
 * indent and indenting its continuation lines two more, so a wrapped sentence reads as one.
 */
export function wrapText(text: string, width: number): string[] {
  return text.split('\n').flatMap((line) => {
    if (visibleLength(line) <= width) return [line];
    const indent = /^\s*/.exec(line)?.[0] ?? '';
    const room = Math.max(20, width - indent.length - 2);
    const [first = '', ...rest] = wrapAnsi(line.slice(indent.length), room, { hard: true }).split('\n');
    return [indent + first, ...rest.map((l) => `${indent}  ${l}`)];
  });
}

/** Cuts a line that is wider than `width` to fit, ending it with an ellipsis. */
export function clipLine(line: string, width: number): string {
  if (visibleLength(line) <= width) return line;
  const [head = ''] = wrapAnsi(line, Math.max(1, width - 1), { hard: true, wordWrap: false, trim: false }).split('\n');
  return `${head}…`;
}

/** Indents every non-blank line. */
export function indent(lines: readonly string[], by: string): string[] {
  return lines.map((line) => (line.length > 0 ? by + line : line));
}
