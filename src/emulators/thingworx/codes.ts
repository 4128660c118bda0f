/** AlwaysOn status codes <-> HTTP statuses, and the platform's bind-failure text. */
import { MESSAGE_CODES, type Message, type MessageCodeName } from '../../alwayson/codec/index.js';

const HTTP_TO_CODE: Record<number, MessageCodeName> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  412: 'PRECONDITION_FAILED',
  413: 'ENTITY_TOO_LARGE',
  415: 'UNSUPPORTED_CONTENT_FORMAT',
  500: 'INTERNAL_SERVER_ERROR',
  501: 'NOT_IMPLEMENTED',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};
export const CODE_TO_HTTP: Record<number, number> = Object.fromEntries(
  Object.entries(HTTP_TO_CODE).map(([h, c]) => [MESSAGE_CODES[c], Number(h)]),
);

export function codeForStatus(status: number): MessageCodeName {
  return HTTP_TO_CODE[status] ?? (status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST');
}

/** The V1BindMessage text of a rejected bind, as the reference document shows it. */
export function bindFailureText(m: Message, names: string[], gateway: { name: string; type: string } | null): string {
  const h = m.header;
  return (
    `Error trying to process message: Binding failed, see server log for more information V1BindMessage [header=V1MessageHeader ` +
    `[messageType=${h.codeValue}, requestId=${h.requestId | 0}, endpointId=${h.endpointId | 0}, sessionId=${h.sessionId | 0}, ` +
    `flags=${h.multipart ? 1 : 0}], gatewayName=${gateway?.name ?? 'null'}, gatewayType=${gateway?.type ?? 'null'}, ` +
    `names=[${names.join(', ')}]]`
  );
}
