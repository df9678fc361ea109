/**
 * The system prompt: a template file from `config/prompts/` with `{{variable}}` placeholders,
 * parsed and checked once at start-up and rendered per turn. The instructions live in the file;
 * this module only fills in facts (the time, the user's language, what is remembered, the screen).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { languageOfText } from './language.js';
import type { MemoryContext } from '../memory/store.js';

/** Every variable a template may use. An unknown one is a configuration error at start-up. */
export const PROMPT_VARIABLES = [
  'assistant_name',
  'date',
  'time',
  'timezone',
  'user_language',
  'memory',
  'screen',
  'actions',
] as const;

export type PromptVariable = (typeof PROMPT_VARIABLES)[number];

type Part = { readonly text: string } | { readonly variable: PromptVariable };

// `{{ name }}`; the name may be anything between the braces so that typos are caught, not kept.
const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;
const KNOWN: ReadonlySet<string> = new Set(PROMPT_VARIABLES);

/** A parsed template: literal text and variables, in order. */
export class PromptTemplate {
  readonly #parts: readonly Part[];
  /** The variables the template uses, each once, in order of first use. */
  readonly variables: readonly PromptVariable[];

  private constructor(parts: readonly Part[]) {
    this.#parts = parts;
    this.variables = [...new Set(parts.flatMap((p) => ('variable' in p ? [p.variable] : [])))];
  }

  /**
   * Parses `text`. Problems (unknown variables, stray braces) are returned with their line
   * numbers, all of them, rather than thrown one at a time.
   */
  static parse(text: string): { readonly template: PromptTemplate; readonly problems: readonly string[] } {
    const parts: Part[] = [];
    const problems: string[] = [];
    const literal = (start: number, end: number): void => {
      const piece = text.slice(start, end);
      // Left-over braces are a placeholder with a typo ({{date}, {{ {{time}}); they would reach the model verbatim.
      const stray = /\{\{|\}\}/.exec(piece);
      if (stray) problems.push(`line ${lineOf(text, start + stray.index)}: "${stray[0]}" outside a {{variable}}`);
      parts.push({ text: piece });
    };
    let last = 0;
    for (const match of text.matchAll(PLACEHOLDER)) {
      const name = match[1].trim();
      literal(last, match.index);
      if (!KNOWN.has(name)) {
        problems.push(`line ${lineOf(text, match.index)}: unknown variable {{${name}}} (known: ${PROMPT_VARIABLES.join(', ')})`);
      }
      parts.push({ variable: name as PromptVariable });
      last = match.index + match[0].length;
    }
    literal(last, text.length);
    return { template: new PromptTemplate(parts), problems };
  }

  /**
   * Fills in the variables. A variable that renders empty leaves no blank-line gap: runs of
   * blank lines collapse to one and the ends are trimmed.
   */
  render(values: Readonly<Record<PromptVariable, string>>): string {
    const text = this.#parts.map((p) => ('text' in p ? p.text : values[p.variable])).join('');
    return text
      .replace(/[ \t]+$/gm, '')
      .replace(/\n{3,}/g, '\n\n')
      .trim();
  }
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * The user's language as a BCP 47 code: the one the prompt's script implies (Cyrillic → `ru`),
 * else `fallback`. Latin script says nothing about the language, so it falls to `fallback` too.
 */
export function detectLanguage(text: string, fallback: string): string {
  return languageOfText(text) ?? fallback;
}

const languageNames = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'code' });

// Per turn the same few codes come back; Intl's lookup is not free, so names are kept.
const languageNameCache = new Map<string, string>();
const LANGUAGE_NAME_CACHE_MAX = 256;

/** `ru` → `Russian`; a code Intl does not know is returned as it is. */
export function languageName(code: string): string {
  const cached = languageNameCache.get(code);
  if (cached !== undefined) return cached;
  let name: string;
  try {
    name = languageNames.of(code) ?? code;
  } catch {
    name = code;
  }
  if (languageNameCache.size < LANGUAGE_NAME_CACHE_MAX) languageNameCache.set(code, name);
  return name;
}

/** What was remembered about the user, as a block of the system prompt; '' when nothing. */
export function memoryBlock(context: Pick<MemoryContext, 'facts' | 'summary'>): string {
  const blocks: string[] = [];
  if (context.facts.length > 0) blocks.push(`What you know about the user:\n${context.facts.map((f) => `- ${f}`).join('\n')}`);
  if (context.summary !== '') blocks.push(`Summary of the earlier conversation:\n${context.summary}`);
  return blocks.join('\n\n');
}

/** The screen line: says a screenshot is attached and its size in pixels when known; '' without one. */
export function screenLine(screenshot: { readonly width?: number; readonly height?: number } | undefined): string {
  if (!screenshot) return '';
  const size = screenshot.width && screenshot.height ? ` (${screenshot.width}×${screenshot.height} pixels)` : '';
  return `A screenshot of the user's screen${size} is attached to their message: it shows their screen right now.`;
}

const ACTIONS_LINE =
  "You can act on the user's Mac with the commands offered as tools. Use one only when the user asks for it, and say in a few words what you are doing.";

// Building an Intl.DateTimeFormat costs far more than using one (about half a millisecond of a
// turn's set-up): one per zone, made on first use.
const clockFormats = new Map<string, Intl.DateTimeFormat>();

function clockFormat(timeZone: string): Intl.DateTimeFormat {
  let format = clockFormats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    clockFormats.set(timeZone, format);
  }
  return format;
}

/** Date and time of `now` in a zone, worded the same on every ICU version. */
export function clockValues(now: Date, timeZone: string): { date: string; time: string } {
  const parts: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const part of clockFormat(timeZone).formatToParts(now)) parts[part.type] = part.value;
  return { date: `${parts.weekday}, ${parts.day} ${parts.month} ${parts.year}`, time: `${parts.hour}:${parts.minute}` };
}

/** Options of {@link SystemPrompt}; the server fills them from `text_processing.prompts`. */
export interface SystemPromptOptions {
  readonly assistantName: string;
  /** IANA zone of `{{date}}`/`{{time}}`; already checked. */
  readonly timeZone: string;
  /** The user's language when the prompt's script implies none. */
  readonly defaultLanguage: string;
  /** The clock; injectable so that tests see a fixed date. */
  readonly now: () => Date;
}

/** What one turn contributes to its system prompt. */
export interface PromptTurn {
  /** The user's merged prompt (its language is detected). */
  readonly prompt: string;
  readonly memory: Pick<MemoryContext, 'facts' | 'summary'>;
  readonly screenshot?: { readonly width?: number; readonly height?: number };
  /** Commands are offered to the model as tools in this request. */
  readonly actionsOffered: boolean;
}

/** The parsed system prompt template and what it needs to render a turn. */
export class SystemPrompt {
  readonly #template: PromptTemplate;
  readonly #options: SystemPromptOptions;
  /** `{{date}}`/`{{time}}` change once a minute: the last minute's values, reused within it. */
  #clock: { readonly minute: number; readonly values: { date: string; time: string } } | undefined;

  constructor(template: PromptTemplate, options: SystemPromptOptions) {
    this.#template = template;
    this.#options = options;
  }

  /** The variables of one turn; exposed for tests and for logging what the model was told. */
  values(turn: PromptTurn): Record<PromptVariable, string> {
    const { assistantName, timeZone, defaultLanguage } = this.#options;
    return {
      assistant_name: assistantName,
      ...this.#clockValues(),
      timezone: timeZone,
      user_language: languageName(detectLanguage(turn.prompt, defaultLanguage)),
      memory: memoryBlock(turn.memory),
      screen: screenLine(turn.screenshot),
      actions: turn.actionsOffered ? ACTIONS_LINE : '',
    };
  }

  render(turn: PromptTurn): string {
    return this.#template.render(this.values(turn));
  }

  #clockValues(): { date: string; time: string } {
    const now = this.#options.now();
    // Every zone's offset is a whole number of minutes, so a UTC minute is a minute of the zone too.
    const minute = Math.floor(now.getTime() / 60_000);
    if (this.#clock?.minute !== minute) this.#clock = { minute, values: clockValues(now, this.#options.timeZone) };
    return this.#clock.values;
  }
}

/** The `text_processing.prompts` section. */
export interface PromptsSection {
  readonly system: string;
  readonly assistant_name: string;
  readonly timezone: string;
  readonly default_language: string;
}

/**
 * Reads and checks the system prompt template and the prompt settings. Returns the prompt, or
 * every problem found (missing file, unknown variable, unknown time zone), each naming its key
 * or file. Relative paths resolve against `baseDir` (the server's install directory).
 */
export function loadSystemPrompt(
  section: PromptsSection,
  options: { readonly baseDir: string; readonly now: () => Date },
): { readonly ok: true; readonly prompt: SystemPrompt } | { readonly ok: false; readonly problems: readonly string[] } {
  const problems: string[] = [];
  const path = isAbsolute(section.system) ? section.system : resolve(options.baseDir, section.system);
  let template: PromptTemplate | undefined;
  try {
    const parsed = PromptTemplate.parse(readFileSync(path, 'utf8'));
    problems.push(...parsed.problems.map((p) => `text_processing.prompts.system (${path}) ${p}`));
    template = parsed.template;
  } catch (error) {
    problems.push(`text_processing.prompts.system: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const timeZone = section.timezone === '' ? new Intl.DateTimeFormat().resolvedOptions().timeZone : section.timezone;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    problems.push(`text_processing.prompts.timezone: unknown time zone "${section.timezone}" (an IANA name such as Europe/Berlin, or empty)`);
  }
  try {
    Intl.getCanonicalLocales(section.default_language);
  } catch {
    problems.push(`text_processing.prompts.default_language: "${section.default_language}" is not a language tag`);
  }
  if (problems.length > 0 || !template) return { ok: false, problems };
  return {
    ok: true,
    prompt: new SystemPrompt(template, {
      assistantName: section.assistant_name,
      timeZone,
      defaultLanguage: section.default_language,
      now: options.now,
    }),
  };
}
