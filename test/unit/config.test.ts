import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from '../../config';

const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('configuration', () => {
  it('has one default per setting, the quick start\'s', () => {
    const cfg = loadConfig({ SIMLAB_HOST_ID: 'h1' });
    expect(cfg).toMatchObject({
      maxConcurrentRuns: 4,
      apiPort: 8080,
      apiHost: '127.0.0.1',
      taskQueue: 'simlab',
      hostId: 'h1',
      reapIntervalSeconds: 60,
      temporal: { address: '127.0.0.1:7233', namespace: 'default', uiUrl: 'http://127.0.0.1:8233' },
    });
    expect(cfg.temporal.tls).toBeUndefined();
    expect(cfg.temporal.apiKey).toBeUndefined();
  });

  it('refuses bad values, naming every variable, instead of turning them into NaN', () => {
    expect(
      problemsOf({
        SIMLAB_MAX_CONCURRENT_RUNS: 'four',
        SIMLAB_API_PORT: '70000',
        TEMPORAL_ADDRESS: 'localhost',
        TEMPORAL_TLS: 'maybe',
        DATABASE_URL: 'not a url',
        SIMLAB_TASK_QUEUE: 'has spaces',
      }),
    ).toEqual([
      'DATABASE_URL="not a url": must be a URL',
      'TEMPORAL_ADDRESS="localhost": must be host:port',
      'TEMPORAL_TLS="maybe": must be true or false',
      'SIMLAB_TASK_QUEUE="has spaces": must be 1-100 letters, digits, \'.\', \'_\' or \'-\'',
      'SIMLAB_API_PORT="70000": must be an integer from 1 to 65535',
      'SIMLAB_MAX_CONCURRENT_RUNS="four": must be an integer from 1 to 1000',
    ]);
    expect(problemsOf({ SIMLAB_MAX_CONCURRENT_RUNS: '2.5' })).toEqual(['SIMLAB_MAX_CONCURRENT_RUNS="2.5": must be an integer from 1 to 1000']);
    expect(() => loadConfig({ SIMLAB_API_PORT: '0' })).toThrow(/SIMLAB_API_PORT="0"/);
  });

  it('connects to a real cluster: namespace, API key (which implies TLS), mutual TLS from files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-cfg-'));
    fs.writeFileSync(path.join(dir, 'ca.pem'), 'CA');
    fs.writeFileSync(path.join(dir, 'client.pem'), 'CERT');
    fs.writeFileSync(path.join(dir, 'client.key'), 'KEY');
    const cloud = loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: 'k' });
    expect(cloud.temporal).toMatchObject({ address: 'ns.acct.tmprl.cloud:7233', namespace: 'ns.acct', apiKey: 'k', tls: {} });
    const mtls = loadConfig({
      TEMPORAL_TLS_CA: path.join(dir, 'ca.pem'),
      TEMPORAL_TLS_CERT: path.join(dir, 'client.pem'),
      TEMPORAL_TLS_KEY: path.join(dir, 'client.key'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    expect(mtls.temporal.tls).toEqual({
      serverName: 'temporal.internal',
      serverRootCaCert: Buffer.from('CA'),
      clientCert: Buffer.from('CERT'),
      clientKey: Buffer.from('KEY'),
    });
    expect(problemsOf({ TEMPORAL_TLS_CERT: path.join(dir, 'client.pem') })).toEqual(['TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: give both (mutual TLS) or neither']);
    expect(problemsOf({ TEMPORAL_TLS_CA: path.join(dir, 'missing.pem') })).toEqual([`TEMPORAL_TLS_CA="${path.join(dir, 'missing.pem')}": cannot read the file (ENOENT)`]);
    expect(loadConfig({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).temporal.tls).toBeUndefined();
  });
});
