import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.ts';
import { loadSetupSettings } from './setup-settings.ts';

// `npm run setup` and `npm start` both read these variables through loadSetupSettings.
describe('loadSetupSettings', () => {
  it('gives the documented defaults, frozen', () => {
    const settings = loadSetupSettings({});
    expect(settings).toEqual({
      databaseUrl: 'mysql://root@127.0.0.1:3306/relocation',
      dataDir: 'data',
      sampleContents: true,
    });
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['TRUE', true],
    ['', true],
    ['  ', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['False', false],
    [' no ', false],
  ])('reads SAMPLE_CONTENTS=%j as %s', (value, expected) => {
    expect(loadSetupSettings({ SAMPLE_CONTENTS: value }).sampleContents).toBe(expected);
  });

  it('refuses a SAMPLE_CONTENTS it cannot read, and a bad DATABASE_URL, one line each', () => {
    let issues: readonly string[] = [];
    try {
      loadSetupSettings({
        SAMPLE_CONTENTS: 'maybe',
        DATABASE_URL: 'mysql://db:3306/',
        DATA_DIR: ' ',
      });
    } catch (error) {
      if (error instanceof ConfigError) issues = error.issues;
    }
    expect(issues).toEqual([
      'DATABASE_URL: must be a URL such as mysql://root@127.0.0.1:3306/relocation: the URL must name a database made of letters, digits, _ or $ (got "mysql://db:3306/")',
      'SAMPLE_CONTENTS: must be true or false (or 1/0, yes/no) (got "maybe")',
    ]);
  });

  it('trims DATA_DIR', () => {
    expect(loadSetupSettings({ DATA_DIR: ' /srv/tiers ' }).dataDir).toBe('/srv/tiers');
  });
});
