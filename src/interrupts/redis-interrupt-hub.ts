import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { MemoryInterruptHub, type InterruptHub } from './interrupt-hub.js';

export interface RedisInterruptHubOptions {
  readonly channel: string;
  /** Session ids with a turn on any instance (the shared SessionRegistry). */
  readonly activeSessions: (hardwareId: string) => Promise<string[]>;
  readonly logger: Logger;
}

interface InterruptMessage {
  readonly hardwareId: string;
  readonly from: string;
}

/**
 * InterruptSession across instances: turns register locally; an interrupt aborts the local ones
 * and is published so every other instance aborts its own turns of that hardware id.
 */
export class RedisInterruptHub implements InterruptHub {
  readonly #local = new MemoryInterruptHub();
  readonly #id = randomUUID();
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #options: RedisInterruptHubOptions;

  constructor(publisher: Redis, subscriber: Redis, options: RedisInterruptHubOptions) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#options = options;
  }

  /** Subscribes to the channel; resolves once other instances' interrupts reach this one. */
  async start(): Promise<void> {
    this.#subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.#options.channel) return;
      try {
        const message = JSON.parse(text) as InterruptMessage;
        if (message.from !== this.#id) void this.#local.interrupt(message.hardwareId);
      } catch (error) {
        this.#options.logger.warn({ err: error }, 'ignored a malformed interrupt message');
      }
    });
    await this.#subscriber.subscribe(this.#options.channel);
  }

  register(hardwareId: string, sessionId: string, controller: AbortController): () => void {
    return this.#local.register(hardwareId, sessionId, controller);
  }

  async interrupt(hardwareId: string): Promise<string[]> {
    // Read before aborting: aborted turns release their leases.
    const everywhere = await this.#options.activeSessions(hardwareId);
    const local = await this.#local.interrupt(hardwareId);
    const message: InterruptMessage = { hardwareId, from: this.#id };
    await this.#publisher.publish(this.#options.channel, JSON.stringify(message));
    return [...new Set([...everywhere, ...local])];
  }

  abortAll(reason: Error): void {
    this.#local.abortAll(reason);
  }
}
