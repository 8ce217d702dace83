import { z } from 'zod';
import { defineTool } from './define-tool.js';

export const MAX_TITLE_CHARS = 120;

const Args = z.object({
  title: z
    .string()
    .trim()
    .min(1, 'title must not be empty')
    .max(MAX_TITLE_CHARS, `title must be at most ${MAX_TITLE_CHARS} characters`),
  summary: z.string().trim().min(1, 'summary must not be empty'),
});

/**
 * `finish`: ends the run at once. The host then commits the changes, pushes the branch and opens or
 * updates the pull request with this title and summary.
 */
export const finishTool = defineTool({
  name: 'finish',
  description:
    'Finish the task. Call it once the change is complete and checked (or when no change is needed, ' +
    'saying why). The run ends immediately; the host commits your changes and opens or updates the ' +
    'pull request with this title and summary.',
  parameters: {
    type: 'object',
    properties: {
      title: {
        type: 'string',
        description: `Pull request title, imperative, at most ${MAX_TITLE_CHARS} characters.`,
      },
      summary: {
        type: 'string',
        description: 'Pull request description in Markdown: what changed, why, and how it was checked.',
      },
    },
    required: ['title', 'summary'],
    additionalProperties: false,
  },
  args: Args,
  describe: (args) => args.title,
  async run(args) {
    return { kind: 'finish', title: args.title, summary: args.summary };
  },
});
