/**
 * The fallback long-term-memory rules, used when no LLM is available to update the facts: a
 * small set of patterns for what users say when they want to be remembered, in English and
 * Russian. Facts come out in the third person ("User's name is Alex", "Пользователя зовут
 * Саша") so that, placed in a system prompt, "my" cannot be read as the assistant's; the
 * user's own words are kept for the rest, in the language they were said in.
 *
 * Deliberately conservative: a rule fires only at the start of a sentence or clause and never
 * on a question, because a wrong fact stays in every later prompt.
 */

type Lang = 'en' | 'ru';

interface Templates {
  readonly name: (name: string) => string;
  readonly likes: (what: string) => string;
  readonly loves: (what: string) => string;
  readonly remember: (what: string) => string;
}

const TEMPLATES: Readonly<Record<Lang, Templates>> = {
  en: {
    name: (n) => `User's name is ${n}`,
    likes: (w) => `User likes ${w}`,
    loves: (w) => `User loves ${w}`,
    remember: (w) => `User asked to remember: ${w}`,
  },
  ru: {
    name: (n) => `Пользователя зовут ${n}`,
    likes: (w) => `Пользователю нравится ${w}`,
    loves: (w) => `Пользователь любит ${w}`,
    remember: (w) => `Пользователь просил запомнить: ${w}`,
  },
};

// JavaScript's \b is ASCII-only; these bound words in any script.
const END = String.raw`(?![\p{L}\p{N}])`;
const FILLERS = String.raw`^(?:(?:hey|ok|okay|oh|well|so|also|and|actually|by the way|btw|please|nexy|эй|ок|окей|ну|так|кстати|а|и|ещё|еще|пожалуйста|слушай|некси)${END}[,!]?\s*)*`;
const FILLER_PREFIX = new RegExp(FILLERS, 'iu');

// A clause boundary is a comma or conjunction followed by something a rule could start with.
const CLAUSE_STARTERS = String.raw`(?:i|my|call|remember|я|мне|меня|зови|называй|запомни)${END}`;
const CONJUNCTION = String.raw`(?:and|but|also|и|а|но|ещё|еще)\s+`;
const CLAUSE_SPLIT = new RegExp(String.raw`(?:,\s*(?:${CONJUNCTION})?|\s+${CONJUNCTION})(?=${CLAUSE_STARTERS})`, 'iu');

const REMEMBER = /^(remember|запомни(?:те)?)(?![\p{L}\p{N}])[,:]?\s*(?:(?:please|пожалуйста),?\s*)?(?:(?:that|что)(?![\p{L}\p{N}])\s*)?(.*)$/iu;
// "remember what I said" asks to recall, it does not give anything to keep.
const RECALL_WORDS = new RegExp(
  String.raw`^(?:what|when|where|who|why|how|which|whether|if|me|us|this|that|it|когда|где|кто|почему|как|какой|какая|какие|сколько|меня|это)${END}`,
  'iu',
);

const NAME_RULES: ReadonlyArray<readonly [RegExp, Lang]> = [
  [/^(?:my name is|my name's|call me)\s+(.+)$/iu, 'en'],
  [/^(?:меня зовут|зови меня|называй меня)\s+(.+)$/iu, 'ru'],
];
// Words that end a name: ASR text often has no punctuation ("my name is alex i live in ...").
const NAME_STOP = new RegExp(
  String.raw`^(?:i|and|but|so|from|what|how|please|not|back|later|tomorrow|today|tonight|now|a|an|the|when|if|at|in|maybe|я|и|а|но|из|не|пожалуйста|сейчас|завтра|потом)${END}`,
  'iu',
);
const MAX_NAME_WORDS = 2;

const LIKE_RULES: ReadonlyArray<readonly [RegExp, Lang, keyof Templates]> = [
  [/^i (?:really )?like\s+(.+)$/iu, 'en', 'likes'],
  [/^i (?:really )?love\s+(.+)$/iu, 'en', 'loves'],
  [/^мне (?:очень )?нрав(?:и|я)тся\s+(.+)$/iu, 'ru', 'likes'],
  [/^я (?:очень )?люблю\s+(.+)$/iu, 'ru', 'loves'],
];
// "I like it when ...", "I love you", "мне нравится твой голос": about the moment or the
// assistant, not a lasting fact about the user.
const LIKE_STOP = new RegExp(
  String.raw`^(?:it|that|this|when|how|what|you|your|тебя|тебе|твой|твоя|твои|вас|ваш|это|когда|как|что)${END}`,
  'iu',
);

/** Facts found in one user utterance, in order, without duplicates. Pure. */
export function extractFacts(text: string): string[] {
  const facts: string[] = [];
  for (const sentence of sentences(text)) {
    if (sentence.endsWith('?')) continue;
    const body = stripFillers(sentence.replace(/[.!…]+$/u, ''));
    for (const fact of sentenceFacts(body)) if (!facts.includes(fact)) facts.push(fact);
  }
  return facts;
}

function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?…])\s+|\n+/u)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function stripFillers(text: string): string {
  return text.replace(FILLER_PREFIX, '').trim();
}

function sentenceFacts(body: string): string[] {
  const remember = REMEMBER.exec(body);
  if (remember) {
    const what = remember[2].trim();
    // "remember that my name is Alex" is better kept as the fact it states.
    const inner = clauseFacts(what);
    if (inner.length > 0) return inner;
    if (what === '' || RECALL_WORDS.test(what)) return [];
    const lang: Lang = /^запомни/iu.test(remember[1]) ? 'ru' : 'en';
    return [TEMPLATES[lang].remember(what)];
  }
  return clauseFacts(body);
}

function clauseFacts(text: string): string[] {
  const out: string[] = [];
  for (const clause of text.split(CLAUSE_SPLIT)) {
    const fact = clauseFact(stripFillers(clause.replace(/[,;:]+$/u, '')));
    if (fact !== undefined) out.push(fact);
  }
  return out;
}

function clauseFact(clause: string): string | undefined {
  for (const [rule, lang] of NAME_RULES) {
    const match = rule.exec(clause);
    if (!match) continue;
    const name = nameFrom(match[1]);
    return name === '' ? undefined : TEMPLATES[lang].name(name);
  }
  for (const [rule, lang, template] of LIKE_RULES) {
    const match = rule.exec(clause);
    if (!match) continue;
    const what = match[1].trim();
    return what === '' || LIKE_STOP.test(what) ? undefined : TEMPLATES[lang][template](what);
  }
  return undefined;
}

function nameFrom(rest: string): string {
  const words: string[] = [];
  for (const word of rest.split(/\s+/u)) {
    const clean = word.replace(/[^\p{L}'’-]+$/u, '');
    if (!/^\p{L}[\p{L}'’-]*$/u.test(clean) || NAME_STOP.test(clean)) break;
    words.push(clean.charAt(0).toUpperCase() + clean.slice(1));
    if (words.length === MAX_NAME_WORDS || clean !== word) break;
  }
  return words.join(' ');
}
