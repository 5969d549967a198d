import { pathToFileURL } from 'node:url';

/**
 * Whether the terminal may be sent OSC 8 hyperlinks. Terminals that do not know them show the
 * text alone; a dumb terminal, a pipe or CI logs get no escape codes at all.
 */
export function supportsLinks(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && process.env['TERM'] !== 'dumb' && !process.env['CI'] && process.env['NO_COLOR'] === undefined;
}

/** `text` as a link to a file that a terminal can open (OSC 8), or the text alone where links are not supported. */
export function fileLink(text: string, absolutePath: string, stream: NodeJS.WriteStream = process.stdout): string {
  if (!supportsLinks(stream)) return text;
  return `\u001b]8;;${pathToFileURL(absolutePath).href}\u0007${text}\u001b]8;;\u0007`;
}
