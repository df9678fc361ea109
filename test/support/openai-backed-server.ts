import type { DeepPartial } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openai-server.js';
import { startTestServer, testConfig, type TestServer } from './harness.js';

/**
 * A local fake of the Chat Completions API and a test server whose model it is: `text_processing`
 * overrides go over the fake's URL and key (`provider: 'openai'` unless they say otherwise).
 * `close()` stops both.
 */
export async function startOpenAiBackedServer(
  textProcessing: DeepPartial<Config['text_processing']> = {},
): Promise<{ fake: FakeOpenAi; t: TestServer; close(): Promise<void> }> {
  const fake = await startFakeOpenAi();
  const t = await startTestServer(
    testConfig({
      text_processing: { provider: 'openai', openai: { base_url: fake.url, api_key: 'sk-test', model: 'test-model' }, ...textProcessing },
    }),
  );
  return {
    fake,
    t,
    close: async () => {
      await t.close();
      await fake.close();
    },
  };
}
