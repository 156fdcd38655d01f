import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { activeTraceContext } from '@platform/messaging';
import { Actors, AuditLog, ProblemError, ZodPipe } from '@platform/service-defaults';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { PlaceOrderBody, type PlacedOrder } from '../features/place-order/place-order';
import { ListOrdersQuery, OrderIdParam, PositionParam } from '../features/queries/order-queries';
import { OrderRuntime } from '../infrastructure/order-runtime';

const IdempotencyKey = z.string().min(1).max(200).optional();

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(
    @Inject(OrderRuntime) private readonly runtime: OrderRuntime,
    @Inject(Actors) private readonly actors: Actors,
    @Inject(AuditLog) private readonly audit: AuditLog,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Place an order; the saga confirms or rejects it asynchronously' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Retries with the same key and body return the same order',
  })
  @ApiBody({ schema: z.toJSONSchema(PlaceOrderBody) as Record<string, unknown> })
  @ApiResponse({ status: 202, description: 'Accepted: { orderId, status: "Placed", position }' })
  @ApiResponse({ status: 422, description: 'The Idempotency-Key was used with a different body' })
  async place(
    @Body(new ZodPipe(PlaceOrderBody, 'order')) body: PlaceOrderBody,
    @Headers('idempotency-key') rawIdempotencyKey: string | undefined,
    @Headers('traceparent') traceparent: string | undefined,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    // Nest's @Headers takes no pipes: validate the header here, with the same problem format.
    const idempotencyKey = new ZodPipe(IdempotencyKey, 'Idempotency-Key header').transform(
      rawIdempotencyKey,
    );
    const actor = this.actors.resolve(request);
    const details = {
      customerId: body.customerId,
      lines: body.lines.length,
      currency: body.currency,
      idempotencyKey: idempotencyKey ?? null,
    };
    let placed: PlacedOrder;
    try {
      placed = await this.runtime.placeOrder.execute(
        body,
        idempotencyKey,
        {
          // The request's server span, so the saga's messages continue this request's trace.
          ...activeTraceContext(traceparent !== undefined ? { traceparent } : {}),
          // Events name who placed the order only when someone authenticated did.
          ...(actor.via !== 'anonymous' && { actor: actor.id }),
        },
        new Date(),
      );
    } catch (error) {
      await this.audit.record({
        action: 'order.placed',
        actor,
        subject: { type: 'order' },
        outcome: 'failed',
        details: { ...details, error: error instanceof Error ? error.message : String(error) },
      });
      throw error;
    }
    if (!placed.replayed) this.runtime.nudgeRelay();
    await this.audit.record({
      action: 'order.placed',
      actor,
      subject: { type: 'order', id: placed.orderId },
      outcome: 'succeeded',
      details: { ...details, replayed: placed.replayed },
    });
    response.setHeader('Location', `/orders/${placed.orderId}`);
    if (placed.replayed) response.setHeader('Idempotent-Replayed', 'true');
    return { orderId: placed.orderId, status: 'Placed', position: placed.position };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One order with its saga timeline (from the read model)' })
  @ApiQuery({
    name: 'position',
    required: false,
    description: 'Wait until the read model has seen this write (from POST /orders)',
  })
  async get(
    @Param('id', new ZodPipe(OrderIdParam, 'order id')) id: string,
    @Query('position', new ZodPipe(PositionParam.optional(), 'position'))
    position: string | undefined,
  ) {
    const found = await this.runtime.queries.get(id, position);
    if (found === 'not-found') throw new ProblemError(404, 'Not Found', `no order ${id}`);
    if (found === 'lagging') {
      throw new ProblemError(
        503,
        'Read Model Lagging',
        `the read model has not reached position ${String(position)} yet; retry shortly`,
        {
          retryAfterSeconds: 1,
        },
      );
    }
    return found;
  }

  @Get()
  @ApiOperation({ summary: 'Orders, newest first, paged by cursor' })
  @ApiQuery({ name: 'customerId', required: false })
  @ApiQuery({
    name: 'status',
    required: false,
    enum: ['Placed', 'Confirmed', 'Rejected', 'NeedsAttention'],
  })
  @ApiQuery({ name: 'limit', required: false, description: 'page size, capped at 100' })
  @ApiQuery({ name: 'cursor', required: false })
  list(@Query(new ZodPipe(ListOrdersQuery, 'query')) query: ListOrdersQuery) {
    return this.runtime.queries.list(query);
  }
}
