/** Check items of the application key: accepted, its user (warn for an administrator), its expiry. */

import { attempt, say } from './check-failure.js';
import { type CheckItem, item } from './check-types.js';
import { FIX } from './fixes.js';
import type { ThingWorxRest } from './rest.js';

const CSI = 'Resources/CurrentSessionInfo';

export interface KeyResult {
  items: CheckItem[];
  user?: string;
  admin: boolean;
  keyName?: string;
}

export async function checkKey(rest: ThingWorxRest, appKey: string, now: Date): Promise<KeyResult> {
  const who = await attempt(() => rest.getCurrentUser());
  if (!who.ok) {
    return {
      items: [item('app-key', 'failed', say(who.error), { fix: who.error.fix ?? FIX.appKey })],
      admin: false,
    };
  }
  const user = who.value;
  const groups = await attempt(() => rest.service(CSI, 'GetCurrentUserGroups'));
  const groupNames = groups.ok ? groups.value.rows.map((r) => String(r.name ?? '')) : [];
  const admin = user === 'Administrator' || groupNames.includes('Administrators');
  const keyItem = admin
    ? item(
        'app-key',
        'warned',
        `Accepted; its user ${user} is an administrator (the guide recommends a dedicated user).`,
        {
          fix: FIX.adminUser,
          data: { user, groups: groupNames },
        },
      )
    : item('app-key', 'passed', `Accepted; user ${user}.`, { data: { user, groups: groupNames } });

  const info = await attempt(() =>
    rest.service(`Users/${user}`, 'GetApplicationKeyExpirationInfo', { expiredKeys: true, unexpiredKeys: true }),
  );
  if (!info.ok) {
    return {
      items: [
        keyItem,
        item('key-expiry', 'skipped', `The platform does not tell this user its keys' expiry (${info.error.message})`),
      ],
      user,
      admin,
    };
  }
  const row = info.value.rows.find((r) => r.key === appKey || r.keyId === appKey || r.id === appKey);
  if (!row) {
    return {
      items: [keyItem, item('key-expiry', 'skipped', 'The platform listed no expiry for this key.')],
      user,
      admin,
    };
  }
  const keyName = typeof row.name === 'string' ? row.name : undefined;
  const raw = row.expirationDate;
  const expires = raw === null || raw === undefined || raw === '' ? undefined : new Date(raw as string | number);
  if (!expires || Number.isNaN(expires.getTime())) {
    return {
      items: [
        keyItem,
        item('key-expiry', 'warned', `Key ${keyName ?? ''} has no expiration date set.`, { fix: FIX.appKeyExpiry }),
      ],
      user,
      admin,
      keyName,
    };
  }
  const days = Math.floor((expires.getTime() - now.getTime()) / 86_400_000);
  const when = `${expires.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const data = { keyName, expirationDate: expires.toISOString(), daysLeft: days };
  const expiry =
    expires.getTime() <= now.getTime() || row.expired === true
      ? item('key-expiry', 'failed', `Key ${keyName} expired on ${when}.`, { fix: FIX.appKeyExpiry, data })
      : days < 14
        ? item('key-expiry', 'warned', `Key ${keyName} expires on ${when} (${days} days).`, {
            fix: FIX.appKeyExpiry,
            data,
          })
        : item('key-expiry', 'passed', `Key ${keyName} expires on ${when} (${days} days).`, { data });
  return { items: [keyItem, expiry], user, admin, keyName };
}
