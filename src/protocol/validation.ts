import { readWebp, type WebpInfo } from './webp.js';

/** A StreamAudio request as the transport decoded it (mirrors StreamRequest, no gRPC types). */
export interface StreamInput {
  readonly prompt: string;
  readonly screenshot?: string;
  readonly screenWidth?: number;
  readonly screenHeight?: number;
  readonly hardwareId: string;
  readonly sessionId: string;
  /** The wire enum value: 0 unspecified (old clients: COMMIT), 1 COLLECT, 2 COMMIT. */
  readonly phase: number;
  readonly chunkSeq: number;
  readonly chunkText?: string;
}

export interface Screenshot {
  readonly base64: string;
  readonly bytes: number;
  readonly info: WebpInfo;
}

/** A request that passed every validation rule of docs/PROTOCOL.md ("StreamAudio flow"). */
export interface ValidStreamRequest {
  readonly phase: 'collect' | 'commit';
  readonly hardwareId: string;
  readonly sessionId: string;
  /** The piece of speech this request carries: chunk_text, else prompt. */
  readonly piece: string;
  readonly prompt: string;
  readonly chunkSeq: number;
  readonly screenshot?: Screenshot;
  readonly screenWidth?: number;
  readonly screenHeight?: number;
}

export interface ValidationLimits {
  readonly maxPromptChars: number;
  readonly screenshotMaxBytes: number;
  readonly maxScreenDimension: number;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; problems: string[] };

const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_ID_CHARS = 128;

/** True for A–Z, a–z, 0–9, `+` and `/` (the standard alphabet). */
function isBase64Char(code: number): boolean {
  return (
    (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 43 || code === 47
  );
}

/**
 * Standard base64, padding optional: one linear pass. A regular expression here (a repeated
 * group over the whole string) overflows V8's stack on multi-megabyte screenshots.
 */
export function isBase64(text: string): boolean {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const body = text.length - padding;
  // Without padding the last group holds 2 or 3 characters, never 1; with it the groups are whole.
  if (padding > 0 ? text.length % 4 !== 0 : body % 4 === 1) return false;
  for (let i = 0; i < body; i++) {
    if (!isBase64Char(text.charCodeAt(i))) return false;
  }
  return true;
}

/** The hardware_id rule, shared by StreamAudio, InterruptSession and ReportUsage. */
export function hardwareIdProblem(id: string): string | undefined {
  if (id.trim() === '') return 'hardware_id is required';
  if (id.toLowerCase() === 'unknown') return 'hardware_id must identify the device, not "unknown"';
  if (id.length > MAX_ID_CHARS) return `hardware_id is longer than ${MAX_ID_CHARS} characters`;
  if (!ID.test(id)) return 'hardware_id may contain only letters, digits and . _ : -';
  return undefined;
}

/** The session_id rule (when one is given). */
export function sessionIdProblem(id: string): string | undefined {
  if (id.length > MAX_ID_CHARS) return `session_id is longer than ${MAX_ID_CHARS} characters`;
  if (!ID.test(id)) return 'session_id may contain only letters, digits and . _ : -';
  return undefined;
}

function screenshotProblem(base64: string, maxBytes: number): { problem?: string; screenshot?: Screenshot } {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  const decodedBytes = Math.floor((base64.length * 3) / 4) - padding;
  // Check the size before decoding: a huge string must not cost a huge allocation.
  if (decodedBytes > maxBytes) return { problem: `screenshot is larger than ${maxBytes} bytes` };
  if (!isBase64(base64)) return { problem: 'screenshot is not valid base64' };
  const bytes = Buffer.from(base64, 'base64');
  const webp = readWebp(bytes);
  if (!webp.ok) return { problem: `screenshot is not a valid WebP image (${webp.reason})` };
  return { screenshot: { base64, bytes: bytes.length, info: webp.info } };
}

function dimensionProblem(name: string, value: number | undefined, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1 || value > max) return `${name} must be between 1 and ${max}`;
  return undefined;
}

/**
 * Checks a StreamAudio request. `sessionId` is the effective id (given or generated). Every
 * problem is returned, each naming its field. A COMMIT's blank merged prompt is checked later,
 * once the collected text is merged.
 */
export function validateStreamRequest(
  input: StreamInput,
  sessionId: string,
  limits: ValidationLimits,
): Validation<ValidStreamRequest> {
  const problems: string[] = [];
  const add = (problem: string | undefined) => {
    if (problem) problems.push(problem);
  };

  add(hardwareIdProblem(input.hardwareId));
  if (input.sessionId !== '') add(sessionIdProblem(input.sessionId));

  let phase: ValidStreamRequest['phase'] | undefined;
  if (input.phase === 1) phase = 'collect';
  else if (input.phase === 0 || input.phase === 2) phase = 'commit';
  else problems.push(`phase ${input.phase} is not a known RequestPhase`);
  if (phase === 'collect' && input.sessionId === '') problems.push('session_id is required for COLLECT');

  if (input.prompt.length > limits.maxPromptChars) problems.push(`prompt is longer than ${limits.maxPromptChars} characters`);
  if ((input.chunkText ?? '').length > limits.maxPromptChars) {
    problems.push(`chunk_text is longer than ${limits.maxPromptChars} characters`);
  }
  if (!Number.isInteger(input.chunkSeq) || input.chunkSeq < 0) problems.push('chunk_seq must not be negative');
  add(dimensionProblem('screen_width', input.screenWidth, limits.maxScreenDimension));
  add(dimensionProblem('screen_height', input.screenHeight, limits.maxScreenDimension));

  let screenshot: Screenshot | undefined;
  // An empty string is how some clients say "no screenshot"; it is not an error.
  if (input.screenshot !== undefined && input.screenshot !== '') {
    const checked = screenshotProblem(input.screenshot, limits.screenshotMaxBytes);
    add(checked.problem);
    screenshot = checked.screenshot;
  }

  if (problems.length > 0 || phase === undefined) return { ok: false, problems };
  const chunkText = input.chunkText ?? '';
  return {
    ok: true,
    value: {
      phase,
      hardwareId: input.hardwareId,
      sessionId,
      piece: chunkText !== '' ? chunkText : input.prompt,
      prompt: input.prompt,
      chunkSeq: input.chunkSeq,
      screenshot,
      screenWidth: input.screenWidth,
      screenHeight: input.screenHeight,
    },
  };
}
