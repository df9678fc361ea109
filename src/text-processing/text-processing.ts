import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ActionGate } from './actions.js';
import { InputFilter } from './filters.js';
import { loadSystemPrompt, type SystemPrompt } from './prompts.js';

/** What a turn needs from text_processing besides normalisation, built once at start-up. */
export interface TextProcessing {
  readonly systemPrompt: SystemPrompt;
  readonly actions: ActionGate;
  readonly filter: InputFilter;
}

export interface TextProcessingOptions {
  /** Relative template paths resolve against this (the server's install directory). */
  readonly baseDir: string;
  /** The clock of `{{date}}`/`{{time}}`. */
  readonly now: () => Date;
}

/**
 * Reads the prompt template, compiles the action schemas and the blocked patterns. Throws one
 * ConfigError listing every problem of all three, like the config loader does for the YAML.
 */
export function createTextProcessing(section: Config['text_processing'], options: TextProcessingOptions): TextProcessing {
  const prompt = loadSystemPrompt(section.prompts, options);
  const actions = ActionGate.fromConfig(section.actions);
  const filter = InputFilter.fromConfig(section.filters);
  const problems = [prompt, actions, filter].flatMap((r) => (r.ok ? [] : r.problems));
  if (!prompt.ok || !actions.ok || !filter.ok) throw new ConfigError(problems);
  return { systemPrompt: prompt.prompt, actions: actions.gate, filter: filter.filter };
}
