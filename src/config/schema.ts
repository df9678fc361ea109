import { z } from 'zod';
import { errorKinds } from '../errors.js';
import { authSection, limitsSection, quotasSection, tlsSection } from './security-schema.js';

// zod compiles a fast path per schema on its first parse (new Function), which pays off only for
// schemas parsed very often. Ours are parsed once (the config at start-up) or rarely (release
// files, the memory updater's answers): interpreted, the config validates ~5x sooner, which is
// start-up time (measured with bench/startup-bench.ts). Process-wide, so set where zod first loads.
z.config({ jitless: true });

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
  shutdown_abort_wait_ms: durationMs,
  idle_memory_trim_ms: durationMs,
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
  tls: tlsSection,
});

const httpSection = z.strictObject({
  host: z.string().min(1),
  port,
  operator_page: z.strictObject({
    enabled: z.boolean(),
    poll_interval_ms: positiveInt,
    latency_window_ms: positiveInt,
  }),
});

const loggingSection = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  bad_input_max_per_interval: positiveInt,
  bad_input_interval_ms: positiveInt,
  refusal_max_per_interval: positiveInt,
  refusal_interval_ms: positiveInt,
});

// ---- text_processing (LLM) -------------------------------------------------------------------
const textProcessingSection = z.strictObject({
  provider: z.enum(['auto', 'openai', 'gemini', 'scripted']),
  max_prompt_chars: positiveInt,
  screenshot_max_bytes: positiveInt,
  max_screen_dimension: positiveInt,
  first_token_timeout_ms: positiveInt,
  total_timeout_ms: positiveInt,
  max_output_tokens: positiveInt,
  temperature: z.number().min(0).max(2),
  // Moved to a template file (prompts.system); named here only so that an old config says how to migrate.
  system_prompt: z
    .undefined({ error: 'replaced by a template file: put the text in config/prompts/ and set text_processing.prompts.system' })
    .optional(),
  prompts: z.strictObject({
    system: z.string().min(1),
    assistant_name: z.string().min(1),
    timezone: z.string(),
    default_language: z.string().min(1),
  }),
  actions: z.strictObject({
    enabled: z.boolean(),
    // null removes a command the defaults define (mappings merge key by key).
    commands: z.record(
      z.string(),
      z.strictObject({ description: z.string().min(1), parameters: z.record(z.string(), z.unknown()) }).nullable(),
    ),
  }),
  filters: z.strictObject({
    blocked_patterns: z.array(z.string()),
    refusals: z.record(z.string(), z.string().min(1)).refine((r) => typeof r.default === 'string', {
      message: 'refusals.default is required',
    }),
  }),
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
  // Tried in order after `provider` when the one before fails before its first token.
  fallback: z.array(z.enum(['openai', 'gemini', 'scripted'])),
  gemini: z.strictObject({
    api_key: z.string(),
    base_url: z.union([z.literal(''), z.url()]),
    model: z.string().min(1),
    safety_refusal: z.string().min(1),
  }),
  breaker: z.strictObject({
    failure_threshold: positiveInt,
    window_ms: positiveInt,
    cooldown_ms: positiveInt,
  }),
}).refine((tp) => tp.gemini.api_key !== '' || (tp.provider !== 'gemini' && !tp.fallback.includes('gemini')), {
  message: 'gemini is chosen but gemini.api_key is empty: set GEMINI_API_KEY',
  path: ['gemini', 'api_key'],
});

// ---- audio_generation (TTS) ------------------------------------------------------------------
const ttsEngine = z.enum(['espeak', 'openai_speech', 'edge']);
const ttsVoices = z.record(z.string(), z.string().min(1)).refine((v) => typeof v.default === 'string', {
  message: 'voices.default is required',
});
const audioGenerationSection = z.strictObject({
  provider: ttsEngine,
  // Tried in order after `provider` when the one before fails before any audio of a sentence;
  // espeak is added last when missing, so the server always speaks offline.
  fallback: z.array(ttsEngine),
  sample_rate: z.number().int().min(8000).max(192000),
  channels: z.number().int().min(1).max(8),
  chunk_bytes: z.number().int().min(64).max(1 << 20),
  // A chunk this quiet from end to end is never sent alone (src/audio/chunker.ts); kept far
  // below audibility because a too-long pause is marked at min_chunk_peak + 1.
  min_chunk_peak: z.number().int().min(0).max(1024),
  max_chunk_bytes: z.number().int().min(128).max(1 << 22),
  // A named level or speex's own 0 (fastest) … 10 (best).
  resampler_quality: z.union([z.enum(['best', 'medium', 'fastest']), z.number().int().min(0).max(10)]),
  resample_block_ms: z.number().int().min(10).max(60000),
  // eSpeak, silence, resampling and chunking in worker threads, off the event loop.
  synthesis_workers: z.strictObject({
    enabled: z.boolean(),
    count: nonNegativeInt, // the most threads, under load; 0: one per available core
    idle_count: nonNegativeInt, // threads kept warm while idle (at most count)
    idle_timeout_ms: positiveInt, // a thread beyond idle_count stops after this long without a job
    close_wait_ms: nonNegativeInt, // at shutdown, the longest wait for threads inside the engine
    young_generation_mb: z.number().int().min(1).max(1024), // V8's young generation per worker
    conversion_threads: positiveInt,
    batch_bytes: z.number().int().min(0).max(1 << 24), // a job's chunks after its first, batched per message to the event loop
    clause_min_chars: nonNegativeInt, // 0: whole segments
    slice_sec: z.number().min(0).max(60), // 0: a job converts all its audio at once
  }),
  voices: z.record(z.string(), z.string().min(1)).refine((v) => typeof v.default === 'string', {
    message: 'voices.default is required',
  }),
  espeak: z.strictObject({
    rate_wpm: z.number().int().min(80).max(450),
    pitch: z.number().int().min(0).max(99),
    max_segment_chars: positiveInt,
    // native: Debian's libespeak-ng (refused when absent); wasm: the embedded build; auto: native when installed.
    engine: z.enum(['auto', 'native', 'wasm']),
  }),
  openai_speech: z.strictObject({
    base_url: z.url({ protocol: /^https?$/ }),
    api_key: z.string(),
    model: z.string().min(1),
    voices: ttsVoices,
    sample_rate: z.number().int().min(8000).max(192000),
    speed: z.number().min(0.25).max(4),
    timeout_ms: positiveInt,
    max_input_chars: positiveInt,
  }),
  edge: z.strictObject({
    base_url: z.url({ protocol: /^wss?$/ }),
    trusted_client_token: z.string().min(1),
    chromium_version: z.string().regex(/^\d+(\.\d+){3}$/, 'a full version like 130.0.2849.68'),
    // The service's raw PCM formats (src/audio/providers/edge-protocol.ts, EDGE_PCM_FORMATS).
    output_format: z.enum([
      'raw-8khz-16bit-mono-pcm',
      'raw-16khz-16bit-mono-pcm',
      'raw-22050hz-16bit-mono-pcm',
      'raw-24khz-16bit-mono-pcm',
      'raw-44100hz-16bit-mono-pcm',
      'raw-48khz-16bit-mono-pcm',
    ]),
    voices: ttsVoices,
    rate: z.string().regex(/^[+-]\d+%$/, 'like +0% or -10%'),
    pitch: z.string().regex(/^[+-]\d+Hz$/, 'like +0Hz or -5Hz'),
    volume: z.string().regex(/^[+-]\d+%$/, 'like +0% or -10%'),
    timeout_ms: positiveInt,
    max_text_chars: positiveInt,
  }),
  silence: z.strictObject({
    threshold: z.number().int().min(0).max(32767),
    pad_ms: durationMs,
    fill_digital_silence: z.boolean(),
  }),
  welcome: z.strictObject({
    default_text: z.string().min(1),
  }),
  warm_up_at_start: z.boolean(),
  cache: z.strictObject({
    max_entries: nonNegativeInt,
    max_bytes: nonNegativeInt,
  }),
}).refine((ag) => ag.max_chunk_bytes >= 2 * ag.chunk_bytes, {
  message: 'max_chunk_bytes must be at least twice chunk_bytes',
  path: ['max_chunk_bytes'],
});

// ---- memory_management -----------------------------------------------------------------------
const memoryManagementSection = z.strictObject({
  backend: z.enum(['sqlite', 'postgres', 'none']),
  sqlite: z.strictObject({ path: z.string().min(1), busy_timeout_ms: durationMs }),
  postgres: z.strictObject({
    url: z.string().min(1),
    pool_max: positiveInt,
    // Goes into the connection's search_path unquoted, so only plain identifiers are allowed.
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lowercase SQL identifier'),
    connect_timeout_ms: positiveInt,
    statement_timeout_ms: positiveInt,
  }),
  context_timeout_ms: durationMs,
  context_max_turns: nonNegativeInt,
  context_max_chars: nonNegativeInt,
  store_raw_hardware_id: z.boolean(),
  // Empty: a random key generated once and kept in the database (see the YAML comment).
  hardware_id_hash_key: z.union([z.literal(''), z.string().min(16)]),
  turn_retention_days: nonNegativeInt,
  usage_retention_days: nonNegativeInt,
  prune_interval_ms: positiveInt,
  summary_max_chars: positiveInt,
  max_facts: positiveInt,
  fact_max_chars: positiveInt,
  interrupted_marker: z.string().min(1),
  updater: z.strictObject({
    enabled: z.boolean(),
    mode: z.enum(['auto', 'llm', 'rules']),
    model: z.string(),
    max_turns: positiveInt,
    max_input_chars: positiveInt,
    max_new_facts: positiveInt,
    max_output_tokens: positiveInt,
    temperature: z.number().min(0).max(2),
    timeout_ms: positiveInt,
    max_concurrent: positiveInt,
    queue_max: positiveInt,
    system_prompt: z.string().min(1),
  }),
});

// ---- admin (operator HTTP API) ---------------------------------------------------------------
const adminSection = z.strictObject({
  // Empty disables the admin API; a real token is long enough not to be guessed.
  token: z.union([z.literal(''), z.string().min(16)]),
});

// ---- session_management ----------------------------------------------------------------------
const sessionManagementSection = z.strictObject({
  backend: z.enum(['memory', 'redis']),
  redis: z.strictObject({
    url: z.string().min(1),
    key_prefix: z.string(),
    connect_timeout_ms: positiveInt,
    command_timeout_ms: positiveInt,
    max_retries_per_request: nonNegativeInt,
    reconnect_max_delay_ms: positiveInt,
    lease_ttl_ms: positiveInt,
  }),
  collect_ttl_ms: positiveInt,
  collect_sweep_interval_ms: positiveInt,
  collect_max_buffers: positiveInt,
  collect_max_text_chars: positiveInt,
  collect_max_total_bytes: positiveInt,
});

// ---- pipeline (LLM text → sentences → TTS) ----------------------------------------------------
const pipelineSection = z
  .strictObject({
    first_fragment_min_chars: nonNegativeInt,
    first_fragment_max_chars: positiveInt,
    max_sentence_chars: positiveInt,
    synthesis_lookahead: positiveInt,
    synthesis_lookahead_sec: z.number().positive(),
    pending_sentences_max: positiveInt,
  })
  .refine((p) => p.first_fragment_min_chars < p.first_fragment_max_chars, {
    message: 'first_fragment_min_chars must be below first_fragment_max_chars',
  })
  .refine((p) => p.first_fragment_max_chars <= p.max_sentence_chars, {
    message: 'first_fragment_max_chars must not exceed max_sentence_chars',
  });

// ---- updates (client update feed on the HTTP port) -------------------------------------------
const updateChannel = z.strictObject({ enabled: z.boolean() });
const updatesSection = z.strictObject({
  releases_dir: z.string().min(1),
  downloads_dir: z.string().min(1),
  ed25519_public_key: z.string(),
  public_base_url: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
  title: z.string().min(1),
  channels: z.strictObject({ stable: updateChannel, beta: updateChannel, alpha: updateChannel }),
  rescan_interval_ms: durationMs,
  max_artifact_bytes: positiveInt,
  feed_max_age_s: nonNegativeInt,
});

// ---- client (the SDK's defaults and the `nexy` CLI) ------------------------------------------
const clientSection = z.strictObject({
  server: z.string().min(1),
  keepalive_time_ms: positiveInt,
  keepalive_timeout_ms: positiveInt,
  unary_deadline_ms: positiveInt,
  interrupt_deadline_ms: positiveInt,
  max_receive_message_bytes: positiveInt,
  retry: z.strictObject({
    max_attempts: positiveInt,
    initial_backoff_ms: positiveInt,
    max_backoff_ms: positiveInt,
    backoff_multiplier: z.number().min(1),
  }),
  collect_debounce_ms: durationMs,
  collect_max_wait_ms: durationMs,
  collect_deadline_ms: positiveInt,
  progress_after_ms: durationMs,
  progress_interval_ms: positiveInt,
});

export const configSchema = z.strictObject({
  server: serverSection,
  grpc: grpcSection,
  http: httpSection,
  logging: loggingSection,
  text_processing: textProcessingSection,
  audio_generation: audioGenerationSection,
  memory_management: memoryManagementSection,
  admin: adminSection,
  session_management: sessionManagementSection,
  pipeline: pipelineSection,
  client: clientSection,
  updates: updatesSection,
  limits: limitsSection,
  quotas: quotasSection,
  auth: authSection,
}).refine((c) => c.auth.mode === 'none' || c.memory_management.backend !== 'none', {
  message: 'auth.mode token keeps its tokens in the memory database: set memory_management.backend to sqlite or postgres',
  path: ['auth', 'mode'],
});

/** The validated, frozen configuration passed down from the composition root. */
export type Config = Readonly<z.infer<typeof configSchema>>;
