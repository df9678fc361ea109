import type { LlmEvent, LlmProvider, LlmRequest } from './provider.js';

/**
 * A language model whose module (and SDK: openai, @google/genai) is imported when first needed,
 * so a server that does not use a provider never loads it. The composition root calls
 * `preload()` after the ports are open, so the first turn does not pay for the import either.
 */
export class LazyLlm implements LlmProvider {
  readonly name: string;
  readonly #load: () => Promise<LlmProvider>;
  #provider: Promise<LlmProvider> | undefined;

  constructor(name: string, load: () => Promise<LlmProvider>) {
    this.name = name;
    this.#load = load;
  }

  preload(): Promise<void> {
    return this.#get().then(() => undefined);
  }

  async *stream(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
    yield* (await this.#get()).stream(request, signal);
  }

  #get(): Promise<LlmProvider> {
    this.#provider ??= this.#load().catch((error: unknown) => {
      this.#provider = undefined;
      throw error;
    });
    return this.#provider;
  }
}
