/**
 * Masks secrets in text before it is stored: API keys and other long tokens, payment card
 * numbers, and passwords the user dictated. Over-masking is preferred to leaking: memory text
 * ends up in later LLM requests, the database, and its backups.
 *
 * The thresholds below are definitions of what counts as a secret (Luhn card lengths, token
 * shapes), not tunable limits, so they live here rather than in the config.
 */

/** What replaces each kind of secret. The label tells the model something was there. */
export const SECRET_MASKS = Object.freeze({
  apiKey: '[masked key]',
  card: '[masked card number]',
  password: '[masked password]',
});

// Vendors' key formats, matched whatever their length beyond a minimum.
const KNOWN_KEYS: readonly RegExp[] = [
  /(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}/g, // OpenAI, Anthropic (sk-ant-...), many compatibles
  /(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{20,}/g, // GitHub tokens
  /(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{20,}/g,
  /(?<![A-Za-z0-9])glpat-[A-Za-z0-9_-]{20,}/g, // GitLab
  /(?<![A-Za-z0-9])xox[abprs]-[A-Za-z0-9-]{10,}/g, // Slack
  /(?<![A-Za-z0-9])AKIA[0-9A-Z]{16}(?![A-Za-z0-9])/g, // AWS access key id
  /(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{30,}/g, // Google API key
  /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, // JWT
];

// Any other run this long of base64/base64url/hex characters is treated as a token when it
// looks random enough (see `looksLikeToken`). 32 = a 128-bit value in hex, shorter in base64.
const MIN_TOKEN_CHARS = 32;
const TOKEN_RUN = new RegExp(`(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{${MIN_TOKEN_CHARS},}={0,2}(?![A-Za-z0-9+/_=-])`, 'g');

// 13–19 digits (the ISO/IEC 7812 card lengths), optionally grouped by single spaces or dashes.
const CARD_RUN = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])/g;

// The secret runs to the end of its sentence: a dictated passphrase may be several words.
const SECRET_TAIL = String.raw`(\S[^\n]*?)(?=[.!?]*\s*$|[.!?]+\s|\n)`;
const PASSWORD_RULES: readonly RegExp[] = [
  // "my password is X", "the wifi password for home: X", "PIN code = X"
  new RegExp(
    String.raw`(\b(?:password|passcode|passphrase|pin code|pin)(?:\s+for\s+[^\s,.!?:;]+(?:\s+[^\s,.!?:;]+)?)?\s*(?:\bis\b|\bwas\b|[:=])\s*)` + SECRET_TAIL,
    'gi',
  ),
  // "мой пароль X", "мой пароль от почты: X" — a possessive makes the bare form unambiguous.
  new RegExp(
    String.raw`((?<!\p{L})(?:мой|моя|наш)\s+(?:пароль|пин-?код)(?:\s+от\s+[^\s,.!?:;]+)?(?:\s*[:=—–-]\s*|\s+это\s+|\s+такой:?\s+|\s+))` + SECRET_TAIL,
    'giu',
  ),
  // "пароль: X", "пароль от вайфая — X", "пароль это X"
  new RegExp(
    String.raw`((?<!\p{L})(?:пароль|пин-?код)(?:\s+от\s+[^\s,.!?:;]+)?(?:\s*[:=—–]\s*|\s+-\s+|\s+это\s+|\s+такой:?\s+))` + SECRET_TAIL,
    'giu',
  ),
];

/** Returns `text` with every secret it recognises replaced by a label from SECRET_MASKS. */
export function maskSecrets(text: string): string {
  let out = text;
  for (const rule of PASSWORD_RULES) {
    out = out.replace(rule, (match, lead: string, secret: string) =>
      secret.startsWith(SECRET_MASKS.password) ? match : lead + SECRET_MASKS.password,
    );
  }
  for (const rule of KNOWN_KEYS) out = out.replace(rule, SECRET_MASKS.apiKey);
  out = out.replace(CARD_RUN, (run) => (luhnValid(run.replace(/[ -]/g, '')) ? SECRET_MASKS.card : run));
  out = out.replace(TOKEN_RUN, (run) => (looksLikeToken(run) ? SECRET_MASKS.apiKey : run));
  return out;
}

/** The Luhn checksum every payment card number satisfies. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i -= 1) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * Hex of any case, or a mix of digits and both letter cases: what random tokens look like and
 * long words, URL paths and hyphenated phrases do not.
 */
function looksLikeToken(run: string): boolean {
  if (!/\d/.test(run)) return false;
  if (/^[0-9a-f]+$/i.test(run)) return true;
  return /[a-z]/.test(run) && /[A-Z]/.test(run);
}
