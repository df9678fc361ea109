import { z } from 'zod';
import type { ChatMessage } from '../llm/provider.js';

/** What the long-term-memory model is shown: what is known already and the latest turns. */
export interface UpdaterInput {
  readonly facts: readonly string[];
  readonly summary: string;
  /** The latest turns as chat messages, oldest first. */
  readonly turns: readonly ChatMessage[];
}

/** The model's answer once validated. `summary` undefined: keep the current one. */
export interface UpdaterAnswer {
  readonly facts: readonly string[];
  readonly summary?: string;
}

/**
 * The answer's shape. Lenient where models often are (a missing `facts` list, a missing or
 * empty summary) and strict where a wrong type would store nonsense.
 */
const answerSchema = z.object({
  facts: z.array(z.string()).default([]),
  summary: z.string().optional(),
});

/**
 * The user message of the update request. The transcript is plain labelled text rather than
 * chat messages: the model is to read the conversation, not continue it.
 */
export function updaterPrompt(input: UpdaterInput): string {
  const facts = input.facts.length > 0 ? input.facts.map((f) => `- ${f}`).join('\n') : '(none)';
  const summary = input.summary !== '' ? input.summary : '(none)';
  const turns = input.turns.map((m) => `${m.role === 'user' ? 'User' : 'Assistant'}: ${m.content}`).join('\n');
  return `Facts already known:\n${facts}\n\nCurrent summary:\n${summary}\n\nLatest turns, oldest first:\n${turns}`;
}

/**
 * Reads the model's answer: the JSON object in it (models wrap it in code fences or a sentence
 * now and then), validated. At most `maxFacts` non-blank facts are kept; an empty summary means
 * "no change", so a lazy answer cannot wipe the summary. Undefined when there is no valid object.
 */
export function parseUpdaterAnswer(text: string, maxFacts: number): UpdaterAnswer | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
  const parsed = answerSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const facts = parsed.data.facts
    .map((f) => f.trim())
    .filter((f) => f !== '')
    .slice(0, maxFacts);
  const summary = parsed.data.summary?.trim();
  return summary ? { facts, summary } : { facts };
}
