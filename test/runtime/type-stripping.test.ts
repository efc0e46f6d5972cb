import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const major = Number(process.versions.node.split('.')[0]);

// The Docker image runs the services with Node 24's own type stripping, without tsx
// (`node apps/gateway/src/main.ts`); CI's second pass runs this file on Node 24.
describe.skipIf(major < 24)('the services on Node 24 without tsx', () => {
  it('load every module of the gateway, the relocator and the setup through type stripping', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        [
          "const gateway = await import('./apps/gateway/src/index.ts');",
          "const relocator = await import('./apps/relocator/src/index.ts');",
          "const runtime = await import('./packages/runtime/src/index.ts');",
          'console.log(typeof gateway.startGateway, typeof relocator.startRelocator, typeof runtime.loadEnv);',
        ].join('\n'),
      ],
      { cwd: REPO_ROOT, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(stdout.trim()).toBe('function function function');
    expect(stderr).not.toMatch(/ExperimentalWarning|ERR_/);
  });
});
