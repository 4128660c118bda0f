/** The state-file form of the emulator's model (what --save-state writes). */
import { type Permissions, propertyDefState, type Store } from './model.js';
import { type EmulatorState, type PermissionsState, SYSTEM_ORGANIZATIONS, SYSTEM_TEMPLATES } from './state.js';

export function storeToState(store: Store): EmulatorState {
  const systemTemplates = new Set(SYSTEM_TEMPLATES.map((t) => t.name));
  const systemOrgs = new Map(SYSTEM_ORGANIZATIONS.map((o) => [o.name, o.members.join('\n')]));
  const perm = (p: Permissions): PermissionsState => ({
    visibility: p.visibility,
    designTime: p.designTime,
    runTime: p.runTime,
  });
  return {
    version: 1,
    ...(store.description ? { description: store.description } : {}),
    users: [...store.users.values()]
      .filter((u) => u.name !== 'Administrator' || u.password !== 'admin' || u.groups.size !== 2)
      .map((u) => ({
        name: u.name,
        ...(u.password !== undefined ? { password: u.password } : {}),
        ...(u.description ? { description: u.description } : {}),
        groups: [...u.groups].filter((g) => g !== 'Users'),
        ...(u.enabled ? {} : { enabled: false }),
      })),
    organizations: [...store.organizations]
      .filter(([n, m]) => systemOrgs.get(n) !== [...m].join('\n'))
      .map(([name, m]) => ({ name, members: [...m] })),
    appKeys: [...store.appKeys.values()].map((k) => ({
      name: k.name,
      keyId: k.keyId,
      user: k.user,
      expiresAt: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString(),
      ...(k.description ? { description: k.description } : {}),
    })),
    defaultAppKey: store.defaultAppKey,
    permissions: {
      collections: Object.fromEntries([...store.collectionPermissions].map(([k, v]) => [k, perm(v)])),
      entities: Object.fromEntries([...store.entityPermissions].map(([k, v]) => [k, perm(v)])),
    },
    templates: [...store.templates.values()]
      .filter((t) => !systemTemplates.has(t.name))
      .map((t) => ({
        name: t.name,
        base: t.base,
        ...(t.description ? { description: t.description } : {}),
        owner: t.owner,
        properties: [...t.properties.values()].map(propertyDefState),
      })),
    things: [...store.things.values()].map((t) => ({
      name: t.name,
      template: t.template,
      ...(t.description ? { description: t.description } : {}),
      owner: t.owner,
      ...(t.enabled ? {} : { enabled: false }),
      ...(t.props ? { properties: [...t.props.values()].map(propertyDefState) } : {}),
      ...(t.values
        ? { values: Object.fromEntries([...t.values].map(([k, v]) => [k, { value: v.v, time: v.t, quality: v.q }])) }
        : {}),
      ...(t.history
        ? {
            history: Object.fromEntries(
              [...t.history].map(([k, l]) => [k, l.map((v) => ({ value: v.v, time: v.t, quality: v.q }))]),
            ),
          }
        : {}),
      ...(t.lastConnection ? { lastConnection: t.lastConnection } : {}),
    })),
    subsystem: { ...store.subsystem },
    transport: { tls: store.tls },
  };
}
