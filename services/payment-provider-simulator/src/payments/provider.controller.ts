import {
  applyDecorators,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Client, IdempotencyKey } from '../http/request-decorators';
import { IDEMPOTENCY_KEY_HEADER, openApiSchema, problemResponse as problem } from '../http/openapi';
import { ZodPipe } from '../http/zod.pipe';
import {
  PaymentProvider,
  type AuthorizationResult,
  type AuthorizationView,
  type CaptureResult,
  type RefundResult,
  type VoidResult,
} from '../provider/payment-provider';
import type { ClientConnection } from './client-connection';
import { PaymentsService } from './payments.service';
import { z } from 'zod';
import {
  AmountBodySchema,
  AuthorizeBodySchema,
  type AmountBody,
  type AuthorizeBody,
} from './schemas';

const ReferenceQuerySchema = z.strictObject({ reference: z.string().min(1).max(200) });
type ReferenceQuery = z.infer<typeof ReferenceQuerySchema>;

const FAILURES = [
  problem(400, 'Malformed JSON, invalid body or missing Idempotency-Key'),
  problem(413, 'Body over 64 KB'),
  problem(422, 'Idempotency-Key reused with a different request'),
  problem(500, 'Injected failure (errors knob); nothing was done'),
  problem(503, 'Injected failure, released hang or shutdown; nothing was done'),
];

const documentFailures = (): MethodDecorator =>
  applyDecorators(...FAILURES.map((failure) => ApiResponse(failure)));

/** The provider API the payment service calls: amounts in minor units, one key per call. */
@ApiTags('provider')
@Controller('v1')
export class ProviderController {
  constructor(
    @Inject(PaymentsService) private readonly payments: PaymentsService,
    @Inject(PaymentProvider) private readonly provider: PaymentProvider,
  ) {}

  @Post('authorizations')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Authorize (hold) an amount; declines are 201 too, with status "declined"',
  })
  @ApiHeader(IDEMPOTENCY_KEY_HEADER)
  @ApiBody({ schema: openApiSchema(AuthorizeBodySchema) })
  @ApiResponse({
    status: 201,
    description: '{id, status, declineReason?, amount, currency, reference}',
  })
  @documentFailures()
  authorize(
    @IdempotencyKey() key: string,
    @Body(new ZodPipe(AuthorizeBodySchema, 'body')) body: AuthorizeBody,
    @Client() client: ClientConnection,
  ): Promise<AuthorizationResult> {
    return this.payments.authorize(body, { idempotencyKey: key, client });
  }

  @Get('authorizations')
  @ApiOperation({ summary: 'Authorizations made for a reference (e.g. an order id), oldest first' })
  @ApiResponse({ status: 200, description: '{ items: AuthorizationView[] }' })
  @ApiResponse(problem(400, 'Missing or invalid reference'))
  findByReference(@Query(new ZodPipe(ReferenceQuerySchema, 'query')) query: ReferenceQuery): {
    items: AuthorizationView[];
  } {
    return { items: this.provider.findByReference(query.reference) };
  }

  @Get('authorizations/:id')
  @ApiOperation({ summary: 'Current state of an authorization, with its amounts' })
  @ApiResponse({ status: 200, description: 'state and amounts' })
  @ApiResponse(problem(404, 'Unknown authorization'))
  get(@Param('id') id: string): AuthorizationView {
    return this.provider.get(id);
  }

  @Post('authorizations/:id/capture')
  @HttpCode(201)
  @ApiOperation({ summary: 'Capture up to the authorized amount, once; the rest is released' })
  @ApiHeader(IDEMPOTENCY_KEY_HEADER)
  @ApiBody({ schema: openApiSchema(AmountBodySchema) })
  @ApiResponse({ status: 201, description: '{id, authorizationId, status: "captured", amount}' })
  @ApiResponse(problem(404, 'Unknown authorization'))
  @ApiResponse(problem(409, 'Declined, voided or already captured'))
  @ApiResponse(problem(422, 'Amount over the authorized amount'))
  @documentFailures()
  capture(
    @Param('id') id: string,
    @IdempotencyKey() key: string,
    @Body(new ZodPipe(AmountBodySchema, 'body')) body: AmountBody,
    @Client() client: ClientConnection,
  ): Promise<CaptureResult> {
    return this.payments.capture(id, body.amount, { idempotencyKey: key, client });
  }

  @Post('authorizations/:id/void')
  @HttpCode(200)
  @ApiOperation({ summary: 'Release an authorization that was not captured' })
  @ApiHeader(IDEMPOTENCY_KEY_HEADER)
  @ApiResponse({ status: 200, description: '{id, authorizationId, status: "voided", amount}' })
  @ApiResponse(problem(404, 'Unknown authorization'))
  @ApiResponse(problem(409, 'Declined, already voided or captured'))
  @documentFailures()
  void(
    @Param('id') id: string,
    @IdempotencyKey() key: string,
    @Client() client: ClientConnection,
  ): Promise<VoidResult> {
    return this.payments.void(id, { idempotencyKey: key, client });
  }

  @Post('captures/:id/refund')
  @HttpCode(201)
  @ApiOperation({ summary: 'Refund part or all of a capture; refunds add up to at most it' })
  @ApiHeader(IDEMPOTENCY_KEY_HEADER)
  @ApiBody({ schema: openApiSchema(AmountBodySchema) })
  @ApiResponse({ status: 201, description: '{id, captureId, status: "refunded", amount}' })
  @ApiResponse(problem(404, 'Unknown capture'))
  @ApiResponse(problem(422, 'Amount over what is left to refund'))
  @documentFailures()
  refund(
    @Param('id') id: string,
    @IdempotencyKey() key: string,
    @Body(new ZodPipe(AmountBodySchema, 'body')) body: AmountBody,
    @Client() client: ClientConnection,
  ): Promise<RefundResult> {
    return this.payments.refund(id, body.amount, { idempotencyKey: key, client });
  }
}
