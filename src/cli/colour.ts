import { styleText } from 'node:util';

/** The few styles the CLI uses. */
export type Style = 'green' | 'red' | 'cyan' | 'yellow' | 'bold' | 'dim';

/** Applies a style to text, or leaves it plain: chosen once per output stream. */
export type Paint = (style: Style, text: string) => string;

/** No colour: pipes, files, `--json`. */
export const plain: Paint = (_style, text) => text;

/**
 * Colour for a stream, decided by Node's own rules (a TTY that supports colour, NO_COLOR, FORCE_COLOR,
 * TERM=dumb), so the CLI has no colour settings of its own to get wrong.
 */
export function paintFor(stream: NodeJS.WriteStream): Paint {
  return (style, text) => styleText(style, text, { stream });
}

/**
 * The `--dry-run` plan with its diffs coloured: added lines green, removed red, hunk headers cyan, file
 * headers bold, each change's reason dim; the file lists by action. Only styling is added: with `plain`
 * the text is returned unchanged.
 */
export function colourPlan(text: string, paint: Paint): string {
  return text
    .split('\n')
    .map((line) => {
      if (line.startsWith('--- ') || line.startsWith('+++ ')) return paint('bold', line);
      if (line.startsWith('@@')) return paint('cyan', line);
      if (line.startsWith('+') || line.startsWith('  + ')) return paint('green', line);
      if (line.startsWith('-') || line.startsWith('  - ')) return paint('red', line);
      if (line.startsWith('  ~ ')) return paint('yellow', line);
      if (line.startsWith('# ')) return paint('dim', line);
      return line;
    })
    .join('\n');
}
