import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Stops forwarding in both directions and keeps every connection open: a network that went silent. */
  blackhole(): void;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy to `targetPort`, for cutting a process off from a server the way a broken network
 * does: nothing arrives and nothing is refused, so neither side learns of it from the connection.
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let silent = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => {
        if (!silent) to.write(chunk);
      });
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        if (!silent) to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no TCP address');
  return {
    port: address.port,
    blackhole: () => {
      silent = true;
      // Read nothing more either: what is sent piles up in the kernel's buffers, as on a dead link.
      for (const socket of sockets) socket.pause();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
