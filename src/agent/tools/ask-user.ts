import { z } from 'zod';
import { defineTool } from './define-tool.js';

const Args = z.object({ question: z.string().trim().min(1, 'question must not be empty') });

/**
 * `ask_user`: asks the requester a question and ends the run; the task waits for input. Their answer
 * comes back later as this call's result, with the transcript kept.
 */
export const askUserTool = defineTool({
  name: 'ask_user',
  description:
    'Ask the requester a question when you are truly blocked: the request is ambiguous in a way the ' +
    'code cannot settle, or a decision only they can make. The run pauses until they answer; the ' +
    'answer comes back as the result of this call. Do not use it for progress updates.',
  parameters: {
    type: 'object',
    properties: {
      question: { type: 'string', description: 'One clear question, with the options you see if any.' },
    },
    required: ['question'],
    additionalProperties: false,
  },
  args: Args,
  describe: (args) => args.question,
  async run(args) {
    return { kind: 'ask', question: args.question };
  },
});
