import type { IncomingMessage, ServerResponse } from 'node:http';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { ClientConnection } from '../payments/client-connection';
import { IdempotencyKeySchema } from '../payments/schemas';
import { noteFault } from './request-log';
import { parseOrThrow } from './validation';

export function connectionOf(request: IncomingMessage, response: ServerResponse): ClientConnection {
  return {
    onGone(listener) {
      let notified = false;
      const onClose = (): void => {
        if (notified || response.writableFinished) return;
        notified = true;
        listener();
      };
      if (request.socket.destroyed) {
        onClose();
        return () => undefined;
      }
      response.on('close', onClose);
      return () => {
        response.off('close', onClose);
      };
    },
    setHeader(name, value) {
      if (!response.headersSent) response.setHeader(name, value);
    },
    drop() {
      // RST rather than FIN: the client sees a connection reset, as behind a failing proxy.
      request.socket.resetAndDestroy();
    },
    note(fault) {
      noteFault(request, fault);
    },
  };
}

/** Injects the request's ClientConnection into a controller method. */
export const Client = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ClientConnection => {
    const http = context.switchToHttp();
    return connectionOf(http.getRequest<IncomingMessage>(), http.getResponse<ServerResponse>());
  },
);

/** The validated Idempotency-Key header; missing or malformed is a 400 problem. */
export const IdempotencyKey = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string =>
    parseOrThrow(
      IdempotencyKeySchema,
      context.switchToHttp().getRequest<IncomingMessage>().headers['idempotency-key'],
      'header',
      'Idempotency-Key',
    ),
);
