import type { Command } from 'commander';
import type { App } from '../app.js';
import { register as thingpark } from './emulator-thingpark.js';
import { register as thingworx } from './emulator-thingworx.js';

export function register(program: Command, app: App): void {
  const cmd = program
    .command('emulator')
    .description('run a ThingWorx or ThingPark emulator (for tests, CI and demos)');
  thingworx(cmd, app);
  thingpark(cmd, app);
}
