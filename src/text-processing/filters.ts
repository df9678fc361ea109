/**
 * The filter stage of text_processing, after normalisation: prompts matching a blocked pattern
 * are answered with a configured refusal instead of reaching the model, and secrets the user
 * dictated are masked in the form of the prompt that goes to logs and memory.
 */
import { throwIfAborted } from '../errors.js';
import { languageOfText } from './language.js';
import { maskSecrets } from '../memory/mask-secrets.js';
import type { LlmEvent, LlmProvider, LlmRequest } from '../llm/provider.js';

/** The `text_processing.filters` section. */
export interface FiltersSection {
  /** Regular expressions (JavaScript syntax), matched case-insensitively against the normalised prompt. */
  readonly blocked_patterns: readonly string[];
  /** Refusal per language (`default` required); the prompt's script picks the language. */
  readonly refusals: Readonly<Record<string, string>>;
}

export type FilterVerdict =
  | {
      readonly blocked: false;
      /** The prompt with secrets masked: the only form that goes to logs and memory. */
      readonly masked: string;
    }
  | {
      readonly blocked: true;
      readonly masked: string;
      /** Index into `blocked_patterns` of the pattern that matched (for the log; the pattern itself may be sensitive). */
      readonly pattern: number;
      /** What to say instead of asking the model. */
      readonly refusal: string;
    };

/** Blocked patterns compiled once at start-up, and the refusals. Pure. */
export class InputFilter {
  readonly #patterns: readonly RegExp[];
  readonly #refusals: Readonly<Record<string, string>>;

  private constructor(patterns: readonly RegExp[], refusals: Readonly<Record<string, string>>) {
    this.#patterns = patterns;
    this.#refusals = refusals;
  }

  /** Compiles the patterns. Returns the filter, or every problem found, each naming its key. */
  static fromConfig(section: FiltersSection): { readonly ok: true; readonly filter: InputFilter } | { readonly ok: false; readonly problems: readonly string[] } {
    const problems: string[] = [];
    const patterns: RegExp[] = [];
    section.blocked_patterns.forEach((source, i) => {
      const key = `text_processing.filters.blocked_patterns[${i}]`;
      if (source.trim() === '') {
        // An empty pattern matches every prompt: the server would refuse everything.
        problems.push(`${key}: an empty pattern would block every prompt`);
        return;
      }
      try {
        patterns.push(new RegExp(source, 'iu'));
      } catch (error) {
        problems.push(`${key}: not a valid regular expression (${(error as Error).message})`);
      }
    });
    if (typeof section.refusals.default !== 'string' || section.refusals.default.trim() === '') {
      problems.push('text_processing.filters.refusals.default: required');
    }
    if (problems.length > 0) return { ok: false, problems };
    return { ok: true, filter: new InputFilter(patterns, section.refusals) };
  }

  /** The verdict on a normalised prompt. */
  check(prompt: string): FilterVerdict {
    const masked = maskSecrets(prompt);
    const pattern = this.#patterns.findIndex((p) => p.test(prompt));
    if (pattern === -1) return { blocked: false, masked };
    return { blocked: true, masked, pattern, refusal: this.refusalFor(prompt) };
  }

  /** The refusal in the language the prompt's script implies, else the default one. */
  refusalFor(prompt: string): string {
    const language = languageOfText(prompt);
    return (language !== undefined ? this.#refusals[language] : undefined) ?? this.#refusals.default;
  }
}

/**
 * Stands in for the model on a blocked turn: the refusal is the whole answer, so it is spoken and
 * the turn completes like any other (no model is called).
 */
export class RefusalProvider implements LlmProvider {
  readonly name = 'filter';
  readonly #refusal: string;

  constructor(refusal: string) {
    this.#refusal = refusal;
  }

  async *stream(_request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
    throwIfAborted(signal);
    yield { type: 'text', text: this.#refusal };
  }
}
