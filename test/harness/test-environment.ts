import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../simulator';
import { connectToTestServer } from './temporal';

type Connected = Awaited<ReturnType<typeof connectToTestServer>>;

/**
 * Registers the usual beforeAll/afterAll of an integration test file: a connection to the shared dev
 * server, and simulators started on demand and all closed at the end.
 */
export function useTestEnvironment(): { env(): Connected; simulator(options: SimulatorOptions): Promise<RunningSimulator> } {
  let connected: Connected | undefined;
  const simulators: RunningSimulator[] = [];
  beforeAll(async () => {
    connected = await connectToTestServer();
  });
  afterAll(async () => {
    await Promise.all(simulators.map((s) => s.close()));
    await connected?.close();
  });
  return {
    env: () => {
      if (!connected) throw new Error('the test environment is not connected yet (use it inside a test)');
      return connected;
    },
    simulator: async (options) => {
      const sim = await startSimulator(options);
      simulators.push(sim);
      return sim;
    },
  };
}
