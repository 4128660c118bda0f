import { describe, expect, it } from 'vitest';
import { AuthFailedError, BusyError } from '../../src/alwayson/errors.js';
import { exitCodeOf, renderError } from '../../src/cli/app.js';
import { createTestContext } from '../../src/cli/context.js';
import { say } from '../../src/cli/phrases.js';
import { TpxError, UsageError } from '../../src/errors.js';
import { normaliseThingWorxUrl } from '../../src/thingworx/rest-policy.js';

describe('phrases: the library gives data, the CLI says it', () => {
  it('names flags and variables from src/config/keys.ts', () => {
    expect(say({ id: 'setting-missing', setting: 'thingworxAppKey' })).toBe(
      'Set TPX_THINGWORX_APP_KEY (or --app-key).',
    );
    expect(say({ id: 'setting-range', setting: 'pipeCount', min: 1, max: 255 })).toBe(
      'Set TPX_PIPE_COUNT (--pipe-count) to a whole number from 1 to 255 (1 suffices in most cases).',
    );
    expect(say({ id: 'import-template', template: 'myTemplate' })).toMatch(
      /^Import the Actility Thing Template: run "tpx thingworx import-template --template myTemplate"/,
    );
  });

  it('says plain words as they are and several parts one after another', () => {
    expect(say('Check the host.')).toBe('Check the host.');
    expect(say(['No probe Thing to bind:', { id: 'write-probe', what: 'bind' }])).toBe(
      'No probe Thing to bind: run with --write-probe (tpx creates, binds and deletes one).',
    );
    // A part after a closed sentence keeps its capital; a name after a colon keeps its case.
    expect(say(['Checked.', { id: 'write-probe', what: 'bind' }])).toBe(
      'Checked. Run with --write-probe (tpx creates, binds and deletes one).',
    );
    expect(say(['Not verified:', { id: 'alwayson-auth' }])).toMatch(/^Not verified: check TPX_THINGWORX_APP_KEY/);
    expect(say(['The key:', 'ThingWorx refused it.'])).toBe('The key: ThingWorx refused it.');
    expect(say(undefined)).toBeUndefined();
  });

  it('AlwaysOn errors carry the setting concerned, and no flag', () => {
    const auth = new AuthFailedError(0x81, 'expired');
    expect(auth.details).toMatchObject({ setting: 'thingworxAppKey' });
    expect(JSON.stringify(auth.toJSON())).not.toMatch(/--[a-z]|TPX_THINGWORX/);
    expect(say(auth.fix)).toBe(
      'Check TPX_THINGWORX_APP_KEY (--app-key): the key must exist, not be expired, and its user be enabled.',
    );
    expect(say(new BusyError(5).fix)).toMatch(/add pipes \(TPX_PIPE_COUNT\)/);
  });

  it('the CLI chooses the exit code: 2 for usage and for a bad value of a setting, else 1', () => {
    expect(exitCodeOf(new UsageError('x'))).toBe(2);
    expect(exitCodeOf(new TpxError('TPX_USAGE', 'x'))).toBe(2);
    expect(exitCodeOf(new TpxError('TPX_X', 'x', { details: { setting: 'thingworxUrl', got: 'nope' } }))).toBe(2);
    expect(exitCodeOf(new TpxError('TPX_X', 'x', { details: { setting: 'thingworxAppKey' } }))).toBe(1);
    expect(exitCodeOf(new AuthFailedError(null, null))).toBe(1);
  });

  it('a bad ThingWorx URL names the setting and the value: a usage error for the CLI', () => {
    const err = (() => {
      try {
        normaliseThingWorxUrl('ftp://twx.example.com');
      } catch (e) {
        return e as TpxError;
      }
    })();
    expect(err?.details).toMatchObject({ setting: 'thingworxUrl', got: 'ftp://twx.example.com' });
    expect(err?.exitCode).toBe(1);
    expect(exitCodeOf(err!)).toBe(2);
  });

  it('renders the fix in words, on stderr and in the --json error document', () => {
    const t = createTestContext({ json: true });
    const code = renderError(t.io, new AuthFailedError(null, null));
    expect(code).toBe(1);
    const doc = JSON.parse(t.stdout.text) as { error: { code: string; fix: string; details: unknown } };
    expect(doc.error).toMatchObject({
      code: 'TPX_AUTH_FAILED',
      fix: expect.stringMatching(/^Check TPX_THINGWORX_APP_KEY \(--app-key\)/),
      details: { setting: 'thingworxAppKey' },
    });
    expect(t.stderr.text).toMatch(/fix: Check TPX_THINGWORX_APP_KEY \(--app-key\)/);
  });
});
