/** Test set-up against the ThingPark emulator through its own API (not through tpx). */
import type { ThingParkEmulator } from '../../src/emulators/thingpark/index.js';

/** Headers with a bearer token of the emulator's OAuth2 client. */
export async function emulatorBearer(emu: ThingParkEmulator): Promise<Record<string, string>> {
  const t = (await (
    await fetch(emu.tokenUrl, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: emu.clientId,
        client_secret: emu.clientSecret,
      }),
    })
  ).json()) as { access_token: string };
  return { authorization: `Bearer ${t.access_token}`, 'content-type': 'application/json' };
}

/** Deletes every connection of the emulator (each test starts with none). */
export async function deleteConnections(emu: ThingParkEmulator): Promise<void> {
  const headers = await emulatorBearer(emu);
  for (const c of emu.connections()) {
    await fetch(`${emu.url}/thingpark/dx/core/latest/api/connections/${c.id}`, { method: 'DELETE', headers });
  }
}
