import net from 'node:net';

/** One client connection through the proxy. */
export interface ProxiedConnection {
  /** The client's CLIENT SETNAME, once seen in its traffic (ioredis `connectionName`). */
  name: string | undefined;
  /** While true, the server's replies are buffered instead of forwarded. */
  held: boolean;
  release(): void;
  destroy(): void;
}

/**
 * A TCP proxy in front of a real Redis, for fault injection the server cannot do itself: holding
 * back one connection's replies (to force a reply to arrive after an invalidation message) or
 * cutting connections. It never parses or alters what passes through.
 */
export class TcpProxy {
  readonly connections: ProxiedConnection[] = [];
  readonly #server: net.Server;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = net.createServer();
    const proxy = new TcpProxy(server);
    server.on('connection', (client) => proxy.#accept(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** The live connection whose client named itself `name`. */
  byName(name: string): ProxiedConnection | undefined {
    return this.connections.find((c) => c.name === name);
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket, target: { host: string; port: number }): void {
    const server = net.connect(target.port, target.host);
    const pending: Buffer[] = [];
    let seen = '';
    const connection: ProxiedConnection = {
      name: undefined,
      held: false,
      release() {
        connection.held = false;
        for (const chunk of pending.splice(0)) client.write(chunk);
      },
      destroy() {
        client.destroy();
        server.destroy();
      },
    };
    this.connections.push(connection);
    client.on('data', (chunk: Buffer) => {
      if (connection.name === undefined && seen.length < 4096) {
        seen += chunk.toString('latin1');
        const match = /SETNAME\r\n\$\d+\r\n([^\r]+)\r\n/i.exec(seen);
        if (match) connection.name = match[1];
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (connection.held) pending.push(chunk);
      else client.write(chunk);
    });
    const drop = (): void => {
      connection.destroy();
      const index = this.connections.indexOf(connection);
      if (index !== -1) this.connections.splice(index, 1);
    };
    client.on('close', drop);
    server.on('close', drop);
    client.on('error', drop);
    server.on('error', drop);
  }
}
