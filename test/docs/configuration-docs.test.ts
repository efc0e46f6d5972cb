import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig as loadGatewayConfig } from '@relocation/gateway';
import { loadConfig as loadRelocatorConfig } from '@relocation/relocator';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** The variables of `.env.example`, as the apps would read them. */
function exampleEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of read('.env.example').split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) env[match[1]] = match[2] ?? '';
  }
  return env;
}

describe('the configuration docs match the code', () => {
  it('.env.example gives every app its real defaults', () => {
    const env = exampleEnv();
    expect(loadGatewayConfig(env)).toEqual(loadGatewayConfig({}));
    expect(loadRelocatorConfig(env)).toEqual(loadRelocatorConfig({}));
  });

  it('the README configuration table lists every variable of .env.example', () => {
    const readme = read('README.md');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Scaling'));
    const composeOnly = ['MYSQL_ROOT_PASSWORD', 'GATEWAY_PORT'];
    const missing = Object.keys(exampleEnv()).filter(
      (name) => !composeOnly.includes(name) && !table.includes(`\`${name}\``),
    );
    expect(missing).toEqual([]);
  });

  it('the compose file runs the command lines of the npm scripts, on Node 24 without tsx', () => {
    const compose = read('docker-compose.yml');
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> })
      .scripts;
    for (const script of ['setup', 'start:gateway', 'start:relocator']) {
      const words = (scripts[script] ?? '').split(' ');
      // The npm scripts load tsx (Node 20 has no type stripping); the image's Node 24 needs none.
      expect(words.slice(0, 3)).toEqual(['node', '--import', 'tsx']);
      const native = ['node', ...words.slice(3)];
      const array = `[${native.map((w) => `'${w}'`).join(', ')}]`;
      expect(compose).toContain(`command: ${array} # = npm run ${script}`);
    }
    expect(read('Dockerfile')).toContain('FROM node:24-');
    expect(read('Dockerfile')).toContain('CMD ["node", "apps/gateway/src/main.ts"]');
  });
});
