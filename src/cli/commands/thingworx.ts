import type { Command } from 'commander';
import type { App } from '../app.js';
import { register as check } from './thingworx-check.js';
import { register as setup } from './thingworx-setup.js';
import { register as template } from './thingworx-template.js';

export function register(program: Command, app: App): void {
  const cmd = program.command('thingworx').description('check and prepare a ThingWorx platform');
  check(cmd, app);
  template(cmd, app);
  setup(cmd, app);
}
