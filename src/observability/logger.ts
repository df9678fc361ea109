import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Fixed message strings, data in fields. User text and screenshots are
 * logged only at debug level under a `pii` field, and image bytes never; secrets are redacted.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'nexy-server' },
      redact: {
        paths: ['pii.screenshot', '*.api_key', '*.apiKey', 'config.text_processing.openai.api_key'],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as pino.DestinationStream | undefined,
  );
}
