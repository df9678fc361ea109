import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisCall } from './redis-connection.js';
import { sessionScripts, type SessionScripts } from './redis-scripts.js';
import { MemoryInterruptHub, type InterruptHub } from './interrupt-hub.js';

export interface RedisInterruptHubOptions {
  readonly channel: string;
  /** The shared SessionRegistry's sorted set of a hardware id's active sessions. */
  readonly activeKey: (hardwareId: string) => string;
  readonly logger: Logger;
  readonly now?: () => number;
}

interface InterruptMessage {
  readonly hardwareId: string;
  readonly from: string;
}

/**
 * InterruptSession across instances: turns register locally; an interrupt aborts the local ones
 * and is published so every other instance aborts its own turns of that hardware id. Reading
 * the active sessions and publishing are one script call. An instance whose subscriber is
 * reconnecting when the message goes out misses it; its turn ends at its own end or timeout.
 */
export class RedisInterruptHub implements InterruptHub {
  readonly #local = new MemoryInterruptHub();
  readonly #id = randomUUID();
  readonly #scripts: SessionScripts;
  readonly #subscriber: Redis;
  readonly #options: RedisInterruptHubOptions;

  constructor(publisher: Redis, subscriber: Redis, options: RedisInterruptHubOptions) {
    this.#scripts = sessionScripts(publisher);
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
    const message: InterruptMessage = { hardwareId, from: this.#id };
    const now = (this.#options.now ?? Date.now)();
    // Sent before the local turns are aborted, so it reads their leases before their clean-up
    // releases them (one connection keeps commands in order). Local turns stop even when Redis
    // is away; the call then fails with UNAVAILABLE since other instances were not reached.
    const everywhere = redisCall(
      this.#scripts.nexyInterrupt(this.#options.activeKey(hardwareId), now, this.#options.channel, JSON.stringify(message)),
    );
    const local = await this.#local.interrupt(hardwareId);
    return [...new Set([...((await everywhere) as string[]), ...local])];
  }

  abortAll(reason: Error): void {
    this.#local.abortAll(reason);
  }
}
