/**
 * Checks a connection body against the connector's own schema (GET /connectors) before it is sent, so that a bad
 * field is named locally, with its flag, instead of coming back as a ThingPark error.
 */
import { UsageError } from '../errors.js';
import { AMQP_CONNECTOR } from './amqp-connection.js';
import { type ConnectionBody, ThingParkApiError, type ThingParkClient } from './api.js';
import { AMQP_FIELDS, ConnectionFieldsError, FIELDS } from './connection-config.js';
import { checkSchema } from './schema.js';

/**
 * Resolves when the configuration fits the connector's schema; throws ConnectionFieldsError naming each bad field
 * (by flag), or a UsageError when this ThingPark has no such connector. Resolves with a warning when this ThingPark
 * does not list its connectors (then only ThingPark checks the configuration).
 */
export async function checkAgainstConnector(
  client: ThingParkClient,
  body: ConnectionBody,
  /** What the check is for ("check the configuration before creating connection \"x\""), named by its errors. */
  purpose?: string,
): Promise<{ warning?: string }> {
  let connector: Awaited<ReturnType<ThingParkClient['connector']>>;
  try {
    connector = await client.connector(body.connectorId, purpose);
  } catch (err) {
    if (err instanceof ThingParkApiError && err.status === 404) {
      return {
        warning:
          'This ThingPark does not list its connectors (GET /connectors); the configuration is checked by ThingPark only.',
      };
    }
    if (err instanceof ThingParkApiError && (err.status >= 500 || err.status === 429)) {
      // Not the user's request that failed: let the request itself go and say what ThingPark answers to it.
      return {
        warning: `ThingPark could not give its connector list now (HTTP ${err.status}); the configuration is checked by ThingPark only.`,
      };
    }
    throw err;
  }
  if (!connector) {
    throw new UsageError(
      `This ThingPark has no ${body.connectorId} connector.`,
      `Ask your ThingPark operator to enable the ${body.connectorId === AMQP_CONNECTOR.id ? 'AMQP' : 'ThingWorx'} connector.`,
    );
  }
  const problems = checkSchema(connector.connection?.configurationSchema, body.configuration);
  if (problems.length) {
    throw new ConnectionFieldsError(
      problems.map((p) => {
        const key = p.path.split('.')[1] ?? p.path;
        const fields = body.connectorId === AMQP_CONNECTOR.id ? AMQP_FIELDS : FIELDS;
        const field = fields.find((f) => f.key === key)?.opt;
        return { ...(field ? { field } : {}), key: field ? key : p.path, message: `${p.message} (connector schema)` };
      }),
    );
  }
  return {};
}
