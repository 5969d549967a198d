import { Chalk } from 'chalk';
import type { Paint } from '../trace/paint.ts';
import { plain } from '../trace/paint.ts';

/** Colour when writing to a terminal, plain text when piped or when NO_COLOR is set. */
export function terminalPaint(stream: NodeJS.WriteStream = process.stdout): Paint {
  const noColor = process.env['NO_COLOR'] !== undefined && process.env['NO_COLOR'] !== '';
  if (!stream.isTTY || noColor) return plain;
  const chalk = new Chalk({ level: 1 });
  return {
    dim: (t) => chalk.dim(t),
    bold: (t) => chalk.bold(t),
    red: (t) => chalk.red(t),
    green: (t) => chalk.green(t),
    yellow: (t) => chalk.yellow(t),
    cyan: (t) => chalk.cyan(t),
    magenta: (t) => chalk.magenta(t),
  };
}
