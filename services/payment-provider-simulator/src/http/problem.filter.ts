import type { IncomingMessage, ServerResponse } from 'node:http';
import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { ClientGone } from '../payments/payments.service';
import { toProblem } from './problem';

/**
 * The one exception filter: everything thrown in a request (validation, refusals, injected
 * faults, body-parser and routing errors, bugs) leaves as application/problem+json.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<IncomingMessage>();
    const response = http.getResponse<ServerResponse>();
    if (exception instanceof ClientGone) return;
    const { problem, unexpected } = toProblem(exception);
    if (unexpected) {
      this.logger.error(
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      );
    }
    // A dropped or abandoned connection has nobody to answer.
    if (response.headersSent || response.writableEnded || request.socket.destroyed) return;
    const instance = (request.url ?? '').split('?')[0];
    response.statusCode = problem.status;
    response.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
    response.end(JSON.stringify({ ...problem, instance }));
  }
}
