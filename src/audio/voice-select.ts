import { dominantScript, scriptLanguage, type Script } from '../text-processing/language.js';
import type { VoiceRequest } from './provider.js';

// The one language detector lives with the text processing; these names stay importable from here.
export { dominantScript, languageOfText, type Script } from '../text-processing/language.js';

/**
 * Picking a TTS voice for a text, free of any engine: the engine hands in lookups. A voice of
 * the wrong language is worse than a plain one (an English voice spells Cyrillic letter by
 * letter), so the text's own script has a say whenever the request does not name a voice.
 */

/** Languages usually written in a non-Latin script; any other language is taken as Latin-script. */
const languageScript: Readonly<Record<string, Script>> = {
  ru: 'cyrillic', uk: 'cyrillic', be: 'cyrillic', bg: 'cyrillic', sr: 'cyrillic', mk: 'cyrillic',
  kk: 'cyrillic', ky: 'cyrillic', tt: 'cyrillic', ba: 'cyrillic', cv: 'cyrillic', mn: 'cyrillic', tg: 'cyrillic',
  el: 'greek', grc: 'greek',
  ar: 'arabic', fa: 'arabic', ur: 'arabic', ps: 'arabic', sd: 'arabic',
  he: 'hebrew', yi: 'hebrew',
  hi: 'devanagari', mr: 'devanagari', ne: 'devanagari', sa: 'devanagari', kok: 'devanagari',
  zh: 'han', cmn: 'han', yue: 'han', hak: 'han',
  ja: 'kana',
  ko: 'hangul',
  th: 'thai',
  ka: 'georgian',
  hy: 'armenian',
};

/** `EN_us` → `en-us`. */
export function normaliseTag(tag: string): string {
  return tag.trim().toLowerCase().replaceAll('_', '-');
}

function primarySubtag(tag: string): string {
  return tag.split('-')[0] ?? tag;
}

function scriptOfLanguage(language: string): Script {
  return languageScript[language] ?? languageScript[primarySubtag(language)] ?? 'latin';
}

/** What the engine knows; every lookup takes a normalised tag and answers with an engine voice id. */
export interface VoiceLookup {
  /** Language → voice from config (`audio_generation.voices`); `default` is required. */
  readonly configured: Readonly<Record<string, string>>;
  /** The engine voice with this id or name, or undefined. */
  voice(id: string): string | undefined;
  /** The engine's own best voice for a language, or undefined. */
  voiceForLanguage(language: string): string | undefined;
}

function voiceForLanguage(language: string, lookup: VoiceLookup): string | undefined {
  for (const tag of new Set([language, primarySubtag(language)])) {
    const configured = lookup.configured[tag];
    if (configured !== undefined) return lookup.voice(normaliseTag(configured)) ?? configured;
    const own = lookup.voiceForLanguage(tag);
    if (own !== undefined) return own;
  }
  return undefined;
}

/**
 * The voice for a text: an explicit voice the engine has wins; then the requested language
 * (config map, then the engine's own voice for it) unless the text is written in a script that
 * language does not use; then the language the text's script implies; then the default.
 */
export function selectVoice(text: string, request: VoiceRequest, lookup: VoiceLookup): string {
  if (request.voice !== undefined && request.voice.trim() !== '') {
    const explicit = lookup.voice(normaliseTag(request.voice));
    if (explicit !== undefined) return explicit;
  }
  const script = dominantScript(text);
  if (request.language !== undefined && request.language.trim() !== '') {
    const language = normaliseTag(request.language);
    const fitsText = script === undefined || script === 'latin' || scriptOfLanguage(language) === script;
    const voice = fitsText ? voiceForLanguage(language, lookup) : undefined;
    if (voice !== undefined) return voice;
  }
  const implied = script === undefined ? undefined : scriptLanguage[script];
  const voice = implied === undefined ? undefined : voiceForLanguage(implied, lookup);
  if (voice !== undefined) return voice;
  const fallback = lookup.configured.default ?? '';
  return lookup.voice(normaliseTag(fallback)) ?? fallback;
}

/**
 * A lookup over the configured voices only, for engines without a voice catalogue of their own
 * (network engines): an explicit voice is accepted when it is one of them (any case), and keeps
 * the spelling the config gives it (`en-US-AriaNeural`).
 */
export function configuredVoiceLookup(configured: Readonly<Record<string, string>>): VoiceLookup {
  const byTag = new Map<string, string>();
  for (const voice of Object.values(configured)) if (!byTag.has(normaliseTag(voice))) byTag.set(normaliseTag(voice), voice);
  return { configured, voice: (id) => byTag.get(id), voiceForLanguage: () => undefined };
}
