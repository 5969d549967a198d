import { Marked } from 'marked';
import { markedTerminal } from 'marked-terminal';

/** Renders an exercise README for the terminal (headings, tables, code blocks); plain markdown when not a TTY. */
export function renderMarkdown(markdown: string, colour: boolean, width = process.stdout.columns ?? 100): string {
  if (!colour) return markdown;
  const marked = new Marked();
  marked.use(markedTerminal({ reflowText: false, width: Math.min(width, 120), tab: 2 }));
  return (marked.parse(markdown) as string).trimEnd();
}
