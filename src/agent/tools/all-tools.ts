import { askUserTool } from './ask-user.js';
import { bashTool } from './bash.js';
import type { AgentTool } from './define-tool.js';
import { editFileTool } from './edit-file.js';
import { finishTool } from './finish.js';
import { readFileTool } from './read-file.js';
import { writeFileTool } from './write-file.js';

/** The six tools, in a fixed order: the tool list is part of the cached prompt prefix. */
export const ALL_TOOLS: readonly AgentTool[] = [
  bashTool,
  readFileTool,
  writeFileTool,
  editFileTool,
  askUserTool,
  finishTool,
];

export function findTool(name: string): AgentTool | undefined {
  return ALL_TOOLS.find((tool) => tool.name === name);
}
