// Starts the shared server for the whole run and publishes its URL as BASE_URL (workers
// inherit it). The returned function stops it with SIGINT and fails the run if it does not
// exit promptly and cleanly.
import { startServer } from './server';

export default async function globalSetup(): Promise<() => Promise<void>> {
  // No simulated orders: tests place and settle their own, and must not race a simulator.
  const server = await startServer({ env: { ORDER_SIMULATOR_MS: '0' } });
  process.env.BASE_URL = server.url;
  return async () => {
    const ms = await server.stop();
    console.log(`shared server stopped by SIGINT in ${ms} ms`);
  };
}
