import { z } from 'zod';
import { errorKinds } from '../errors.js';

/**
 * The schema of `config/unified_config.yaml`. Every key is required here: defaults live in the
 * YAML file, never in code. Objects are strict so that a misspelt key is reported, not ignored.
 */

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().min(0);
const durationMs = z.number().int().min(0);


// ---- server, grpc, http, logging -------------------------------------------------------------
const serverSection = z.strictObject({
  name: z.string().min(1),
  shutdown_grace_ms: durationMs,
});

const grpcSection = z.strictObject({
  host: z.string().min(1),
  port,
  max_receive_message_bytes: positiveInt,
  max_send_message_bytes: positiveInt,
  keepalive_time_ms: positiveInt,
  keepalive_timeout_ms: positiveInt,
  max_active_turns: positiveInt,
  stream_high_water_bytes: positiveInt,
});

const httpSection = z.strictObject({
  host: z.string().min(1),
  port,
});

const loggingSection = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
});

// ---- text_processing (LLM) -------------------------------------------------------------------
const textProcessingSection = z.strictObject({
  provider: z.enum(['auto', 'openai', 'scripted']),
  max_prompt_chars: positiveInt,
  screenshot_max_bytes: positiveInt,
  max_screen_dimension: positiveInt,
  first_token_timeout_ms: positiveInt,
  total_timeout_ms: positiveInt,
  max_output_tokens: positiveInt,
  temperature: z.number().min(0).max(2),
  system_prompt: z.string(),
  degraded_notice: z.string().min(1),
  openai: z.strictObject({
    base_url: z.union([z.literal(''), z.url()]),
    api_key: z.string(),
    model: z.string().min(1),
    placeholder_api_key: z.string().min(1),
  }),
  scripted: z.strictObject({
    reply: z.string().min(1),
    first_token_delay_ms: durationMs,
    token_delay_ms: durationMs,
    token_chars: positiveInt,
    fail_before_first_token: z.boolean(),
    fail_after_chars: z.number().int().min(-1),
    fail_kind: z.enum(errorKinds),
  }),
});

// ---- audio_generation (TTS) ------------------------------------------------------------------
const audioGenerationSection = z.strictObject({
  provider: z.enum(['espeak']),
  sample_rate: z.number().int().min(8000).max(192000),
  channels: z.number().int().min(1).max(8),
  chunk_bytes: z.number().int().min(64).max(1 << 20),
  resampler_quality: z.enum(['best', 'medium', 'fastest']),
  voices: z.record(z.string(), z.string().min(1)).refine((v) => typeof v.default === 'string', {
    message: 'voices.default is required',
  }),
  espeak: z.strictObject({
    rate_wpm: z.number().int().min(80).max(450),
    pitch: z.number().int().min(0).max(99),
  }),
  welcome: z.strictObject({
    default_text: z.string().min(1),
  }),
  cache: z.strictObject({
    max_entries: nonNegativeInt,
    max_bytes: nonNegativeInt,
  }),
});

// ---- memory_management -----------------------------------------------------------------------
const memoryManagementSection = z.strictObject({
  backend: z.enum(['sqlite', 'postgres', 'none']),
  sqlite: z.strictObject({ path: z.string().min(1) }),
  postgres: z.strictObject({ url: z.string().min(1), pool_max: positiveInt }),
  context_timeout_ms: durationMs,
  context_max_turns: nonNegativeInt,
  context_max_chars: nonNegativeInt,
});

// ---- session_management ----------------------------------------------------------------------
const sessionManagementSection = z.strictObject({
  backend: z.enum(['memory', 'redis']),
  redis: z.strictObject({ url: z.string().min(1) }),
  collect_ttl_ms: positiveInt,
  collect_sweep_interval_ms: positiveInt,
  collect_max_buffers: positiveInt,
  collect_max_text_chars: positiveInt,
});

const usageSection = z.strictObject({
  max_records: positiveInt,
});

export const configSchema = z.strictObject({
  server: serverSection,
  grpc: grpcSection,
  http: httpSection,
  logging: loggingSection,
  text_processing: textProcessingSection,
  audio_generation: audioGenerationSection,
  memory_management: memoryManagementSection,
  session_management: sessionManagementSection,
  usage: usageSection,
});

/** The validated, frozen configuration passed down from the composition root. */
export type Config = Readonly<z.infer<typeof configSchema>>;
