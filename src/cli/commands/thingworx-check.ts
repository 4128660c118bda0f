import type { Command } from 'commander';
import type { App } from '../app.js';

export function register(_parent: Command, _app: App): void {}
