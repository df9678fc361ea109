import { EventEmitter, once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy a test controls, in front of a real service (PostgreSQL, Redis), to inject the
 * faults a network gives: `hold()` keeps the server's replies back (queries stay in flight),
 * `stall()` forwards nothing either way (the service hangs), `cut()` drops every connection and
 * refuses new ones (the service is gone), `restore()` lets everything held through again.
 * Emits 'held' when client bytes arrive while replies are held: a query is then in flight.
 */
export class FaultProxy extends EventEmitter {
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #pairs = new Set<{ client: Socket; upstream: Socket; held: Buffer[]; sent: Buffer[] }>();
  #holding = false;
  #stalled = false;
  #down = false;

  private constructor(server: Server, target: { host: string; port: number }) {
    super();
    this.#server = server;
    this.#target = target;
    server.on('connection', (client) => this.#accept(client));
  }

  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, target);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Keeps the service's replies back from now on. */
  hold(): void {
    this.#holding = true;
  }

  /** Forwards nothing either way from now on: connections stay open, the service seems to hang. */
  stall(): void {
    this.#holding = true;
    this.#stalled = true;
  }

  /** Drops every connection at once and refuses new ones until {@link restore}. */
  cut(): void {
    this.#down = true;
    for (const { client, upstream } of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  restore(): void {
    this.#down = false;
    this.#holding = false;
    this.#stalled = false;
    for (const { client, upstream, held, sent } of this.#pairs) {
      for (const bytes of sent.splice(0)) upstream.write(bytes);
      for (const bytes of held.splice(0)) client.write(bytes);
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (this.#down) {
      client.destroy();
      return;
    }
    const upstream = createConnection(this.#target);
    const pair = { client, upstream, held: [] as Buffer[], sent: [] as Buffer[] };
    this.#pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.on('data', (bytes: Buffer) => {
      if (this.#holding) this.emit('held');
      if (this.#stalled) pair.sent.push(bytes);
      else upstream.write(bytes);
    });
    upstream.on('data', (bytes: Buffer) => {
      if (this.#holding) pair.held.push(bytes);
      else client.write(bytes);
    });
  }
}
