/**
 * The EXAMPLES section of every leaf command's help, in one place (program.ts attaches them). Keyed by the command
 * path without "tpx". test/cli/help.test.ts parses every example against the program, runs the ones that need no
 * platform, and fails for a leaf command that has none: a new command adds its examples here.
 *
 * An example is what a person types: `tpx …`, possibly piped (`a | tpx b`) or redirected (`> file`). A line
 * starting with "# " is a comment shown above the next example.
 */
export const EXAMPLES: Record<string, string[]> = {
  'profile list': ['tpx profile list', 'tpx profile list --json'],
  'profile show': ['tpx profile show', 'tpx profile show sandbox', 'TPX_TEMPLATE=other tpx profile show'],
  'profile set': [
    'tpx --profile lab profile set thingworxUrl https://twx.example.com:8443',
    '# a secret without a value is asked for, hidden',
    'tpx --profile lab profile set thingworxAppKey',
  ],
  'profile unset': ['tpx --profile lab profile unset template'],
  'profile use': ['tpx profile use lab'],
  'connection list': ['tpx --profile sandbox connection list', 'tpx connection list --json'],
  'connection get': ['tpx --profile sandbox connection get 1101'],
  'connection create': [
    'tpx --profile sandbox connection create --name factory --pipe-count 2',
    'tpx connection create --name f1 --host-name twx.example.com:443 --dry-run',
  ],
  'connection update': [
    'tpx --profile sandbox connection update 1101 --pipe-count 4',
    'tpx connection update 1101 --active false --yes',
  ],
  'driver add': [
    'tpx driver add examples/drivers/climate --prefix 70B3D5',
    'tpx driver add ./my-driver-1.0.0.tgz --field DriverCfg.id=vendor:model:1',
  ],
  'driver assign': ['tpx driver assign tpx-test-climate --field DriverCfg.id=tpx:climate:1'],
  'driver list': ['tpx --profile sandbox driver list', 'tpx driver list --json'],
  'driver show': ['tpx driver show tpx-test-climate'],
  'driver remove': ['tpx driver remove tpx-test-climate'],
  'driver decode': ['tpx --profile sandbox driver decode sandbox-climate --fport 2 --hex 0108ca37'],
  'driver encode': [`tpx --profile sandbox driver encode sandbox-valve --data '{"valve": "open"}'`],
  'driver test': ['tpx driver test examples/drivers/climate'],
  'connection apply': [
    'tpx --profile sandbox connection apply --name factory --pipe-count 4',
    'tpx connection apply -f connection.json --dry-run',
    "# IoT Flow feeds a fleet's exchange (broker: TPX_CONNECTION_BROKER_URL)",
    'tpx connection apply --connector amqp --name fleet-feed --fleet-prefix tpx',
  ],
  'fleet status': [
    'tpx fleet status --queue amqp://ops:pw@mq.example.com:5672',
    'TPX_QUEUE=amqp://127.0.0.1 tpx fleet status --fleet-prefix plant7 --wait 5s',
    'tpx fleet status --readyz --json',
  ],
  'connection delete': ['tpx --profile sandbox connection delete 1101 --yes'],
  'thingworx check': [
    'tpx --profile sandbox thingworx check',
    'tpx thingworx check --write-probe --timeout 5s',
    '# with an administrator key: read the bind policy, list and close ghost sessions',
    'tpx thingworx check --admin-key "$ADMIN_KEY" --fix',
    '# a session unused for 5 minutes is a ghost (instead of: one without connection)',
    'tpx thingworx check --live-by last-used --ghost-after 5m',
  ],
  'thingworx import-template': [
    'tpx --profile sandbox thingworx import-template --dry-run',
    '# an entity file for Composer > Import',
    'tpx thingworx import-template --export xml > actilityThingTemplateSF.xml',
  ],
  'thingworx setup': [
    'tpx thingworx setup --admin-key "$ADMIN_KEY" --dry-run',
    'tpx thingworx setup --admin-user Administrator --save-profile prod',
    'tpx --profile sandbox thingworx setup --bind-policy last-in-wins',
  ],
  'thing list': ['tpx --profile sandbox thing list', 'tpx thing list --all --json'],
  'thing show': [
    'tpx --profile sandbox thing show 70B3D57ED0000001',
    'tpx thing show 70b3-d57e-d000-0001 --json',
    '# who holds it: the session, its address, this key or another',
    'tpx thing show 70B3D57ED0000001 --admin-key "$ADMIN_KEY"',
  ],
  'thing watch': [
    'tpx --profile sandbox thing watch 70B3D57ED0000001',
    'tpx thing watch 70B3D57ED0000001 --interval 500ms --json',
  ],
  bridge: [
    'tpx bridge --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem',
    'tpx --profile prod bridge --pipe-count 4 --log-format json',
    '# a second bridge on the sandbox, with its own spool',
    'tpx --profile sandbox bridge --spool-dir my-spool --listen 127.0.0.1:0',
    '# one of several bridges sharing the uplinks through RabbitMQ',
    'tpx bridge --queue amqp://tpx:pw@mq:5672/tpx --bridge-id b1',
  ],
  'bridge dead-letters list': ['tpx --profile sandbox bridge dead-letters', 'tpx bridge dead-letters list --json'],
  'bridge dead-letters replay': [
    'tpx bridge dead-letters replay 3,4',
    'tpx --profile sandbox bridge dead-letters replay --all',
  ],
  'uplink send': [
    'tpx --profile sandbox uplink send --dev-eui 70B3D57ED0000001 --payload 01aa',
    'tpx uplink send --dev-eui 70B3D57ED0000004 --count 50 --rate 100',
    '# as the connector: create and bind the Thing, push to ThingWorx',
    'tpx uplink send --direct --dev-eui 70B3D57ED0000001 --payload 01aa',
  ],
  'downlink push': [
    'tpx downlink push --dev-eui 70B3D57ED0000002 --payload 020105 --wait 10s',
    'tpx downlink push --via thingpark --dev-eui 70B3D57ED0000002 --payload 0201',
  ],
  sandbox: ['tpx sandbox', 'tpx sandbox --devices 3 --duration 30s --json', 'tpx --profile demo sandbox --rate 20'],
  'emulator thingworx': [
    'tpx emulator thingworx',
    'tpx emulator thingworx --json --port 8443',
    '# a platform where the key may not list entities',
    'tpx emulator thingworx --state examples/thingworx/no-get-entity-list.json',
  ],
  'emulator thingpark': ['tpx emulator thingpark', 'tpx emulator thingpark --tls --json --opening-delay 2s'],
  'alwayson decode': [
    'tpx alwayson decode 010a00000002000000000000002a000000010444657631',
    'tpx alwayson decode --file frame.bin --json',
  ],
  'alwayson encode': [
    'tpx alwayson decode --json --file frame.bin | tpx alwayson encode',
    'tpx alwayson encode --chunk-size 8192 < message.json',
  ],
  explain: [
    'tpx explain "Entity Not Found : [actilityThingTemplateSF]"',
    '# the text on stdin, e.g. from the clipboard',
    'pbpaste | tpx explain',
  ],
  completion: [
    'tpx completion bash > ~/.local/share/bash-completion/completions/tpx',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a zsh expression, shown as typed
    'tpx completion zsh > "${fpath[1]}/_tpx"',
    'tpx completion fish > ~/.config/fish/completions/tpx.fish',
  ],
};

/** The EXAMPLES text of a command, or undefined when it has none. */
export function examplesText(path: string): string | undefined {
  const list = EXAMPLES[path];
  if (!list?.length) return undefined;
  return `\nExamples:\n${list.map((l) => (l.startsWith('# ') ? `  ${l}` : `  $ ${l}`)).join('\n')}`;
}
