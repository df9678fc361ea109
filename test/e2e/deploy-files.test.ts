import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load.js';

/**
 * What can be checked of the container files on a machine without a container runtime: the
 * Dockerfile's stages and the compose file's references. Building and running the images is not
 * tested here (README, Deployment, says so).
 */

const ROOT = resolve(import.meta.dirname, '../..');
const DEPLOY = join(ROOT, 'deploy');

/** Dockerfile instructions per stage (continuation lines joined). */
function dockerStages(text: string): Map<string, string[]> {
  const stages = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of text.replace(/\\\n\s*/g, ' ').split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const from = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(trimmed);
    if (from) stages.set(from[1]!, (current = []));
    current.push(trimmed);
  }
  return stages;
}

test('Dockerfile: a build stage compiles, the runtime stage installs production dependencies only and runs as non-root', () => {
  const stages = dockerStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const build = stages.get('build');
  const runtime = stages.get('runtime');
  assert.ok(build && runtime, 'stages build and runtime');
  assert.ok(build.some((l) => /^RUN npm ci\b(?!.*--omit=dev)/.test(l)), 'the build stage installs dev dependencies (npm ci runs prepare)');
  assert.ok(runtime.some((l) => /^RUN .*\bnpm ci --omit=dev\b/.test(l)), 'npm ci --omit=dev in the runtime stage');
  assert.ok(runtime.some((l) => l === 'COPY --from=build /app/dist ./dist'), 'the runtime stage takes dist/ from the build stage');
  assert.ok(
    runtime.findIndex((l) => l.startsWith('COPY --from=build /app/dist')) < runtime.findIndex((l) => /^RUN .*\bnpm ci\b/.test(l)),
    'dist/ is in place before npm ci runs prepare without esbuild',
  );
  const user = runtime.filter((l) => l.startsWith('USER ')).at(-1);
  assert.ok(user !== undefined && !/^USER (root|0)\b/.test(user), 'a non-root user');
  // HEALTHCHECK asks NEXY_HEALTHCHECK_URL, by default /ready on the shipped http.port.
  assert.ok(runtime.some((l) => /^HEALTHCHECK .*process\.env\.NEXY_HEALTHCHECK_URL/.test(l)), 'HEALTHCHECK on NEXY_HEALTHCHECK_URL');
  const defaultHttpPort = loadConfig({ env: {} }).http.port;
  assert.ok(runtime.some((l) => l.startsWith('ENV ') && l.includes(`NEXY_HEALTHCHECK_URL=http://127.0.0.1:${defaultHttpPort}/ready`)), 'by default /ready');
  // Every file the stages copy from the context exists.
  for (const line of [...build, ...runtime].filter((l) => /^COPY (?!--from)/.test(l))) {
    const sources = line.split(/\s+/).slice(1, -1);
    for (const source of sources) assert.ok(existsSync(join(ROOT, source)), `${line}: ${source} exists`);
  }
  // The image runs the same command line as the systemd unit.
  const cmd = JSON.parse(runtime.find((l) => l.startsWith('CMD '))!.slice(4)) as string[];
  const execStart = /^ExecStart=(.*)$/m.exec(readFileSync(join(DEPLOY, 'systemd/nexy.service'), 'utf8'))![1]!.split(/\s+/);
  assert.deepEqual(cmd.slice(1).map((a) => a.replace(/^bin\//, '')), execStart.slice(1).map((a) => a.replace(/^\/opt\/nexy-server\/bin\//, '')));
});

test('docker-compose.yml: two instances, nginx, Redis, PostgreSQL, Prometheus with the alert rules; every mounted file exists', () => {
  const compose = parseYaml(readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { build?: unknown; volumes?: string[]; environment?: Record<string, string>; image?: string }>;
  };
  const services = compose.services;
  const instances = Object.keys(services).filter((name) => services[name]!.build !== undefined);
  assert.deepEqual(instances, ['nexy-1', 'nexy-2']);
  for (const name of ['nginx', 'redis', 'postgres', 'prometheus']) assert.ok(services[name], name);

  for (const [name, service] of Object.entries(services)) {
    for (const volume of service.volumes ?? []) {
      const [source] = volume.split(':');
      if (!source!.startsWith('.')) continue; // a named volume
      assert.ok(existsSync(join(DEPLOY, source!)), `${name}: ${source} exists`);
    }
  }
  assert.ok(services.nginx!.volumes!.some((v) => v.startsWith('./nginx/nexy.conf:')), 'nginx mounts deploy/nginx/nexy.conf');
  assert.ok(services.prometheus!.volumes!.some((v) => v.startsWith('./prometheus/alerts.yml:')), 'Prometheus gets the alert rules');

  // Prometheus loads the rules where they are mounted and scrapes both instances.
  const prometheus = parseYaml(readFileSync(join(DEPLOY, 'prometheus/prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
  };
  const mountedRules = services.prometheus!.volumes!.find((v) => v.startsWith('./prometheus/alerts.yml:'))!.split(':')[1];
  assert.deepEqual(prometheus.rule_files, [mountedRules]);

  // Each instance's config is valid, selects the shared backends, and listens where nginx's
  // upstreams (deploy/nginx/nexy.conf, used as it is) look for it, in nginx's network namespace;
  // the image's health check and Prometheus ask those ports too.
  const nginx = readFileSync(join(DEPLOY, 'nginx/nexy.conf'), 'utf8');
  const upstream = (name: string) =>
    [...(/upstream\s+(\S+)\s*\{([^}]*)\}/g[Symbol.matchAll](nginx))].filter((m) => m[1] === name).flatMap((m) => [...m[2]!.matchAll(/^\s*server\s+127\.0\.0\.1:(\d+)/gm)].map((x) => Number(x[1])));
  const ports = instances.map((name) => {
    const instance = services[name] as { environment: Record<string, string>; volumes: string[]; network_mode?: string };
    assert.equal(instance.network_mode, 'service:nginx', name);
    const mounted = instance.volumes.find((v) => v.includes(`:${instance.environment.NEXY_CONFIG}:`))!.split(':')[0]!;
    const config = loadConfig({ env: {}, overridePath: join(DEPLOY, mounted) });
    assert.equal(config.session_management.backend, 'redis', name);
    assert.equal(config.memory_management.backend, 'postgres', name);
    assert.equal(instance.environment.NEXY_HEALTHCHECK_URL, `http://127.0.0.1:${config.http.port}/ready`, name);
    return { grpc: config.grpc.port, http: config.http.port };
  });
  assert.deepEqual(ports.map((p) => p.grpc), upstream('nexy_grpc'));
  assert.deepEqual(ports.map((p) => p.http), upstream('nexy_http'));
  assert.deepEqual(
    prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets)),
    ports.map((p) => `nginx:${p.http}`),
  );
});
