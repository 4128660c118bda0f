import { App } from './app.js';
import { runCli } from './program.js';

export async function main(argv: string[]): Promise<number> {
  return runCli(argv, new App());
}
