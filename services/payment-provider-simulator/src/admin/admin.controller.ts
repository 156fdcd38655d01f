import { Body, Controller, Get, HttpCode, Inject, Post, Put, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { BehaviourSchema, type Behaviour } from '../faults/behaviour';
import { FaultInjector, type InFlight } from '../faults/fault-injector';
import { openApiSchema, problemResponse } from '../http/openapi';
import { ZodPipe } from '../http/zod.pipe';
import { PaymentsService } from '../payments/payments.service';

const ResetQuerySchema = z.strictObject({ ledger: z.enum(['true', 'false']).optional() });
type ResetQuery = z.infer<typeof ResetQuerySchema>;

/** Runtime knobs for failure scenarios. Changes apply to the next request. */
@ApiTags('admin')
@Controller('admin')
export class AdminController {
  constructor(
    @Inject(FaultInjector) private readonly faults: FaultInjector,
    @Inject(PaymentsService) private readonly payments: PaymentsService,
  ) {}

  @Get('behaviour')
  @ApiOperation({ summary: 'The knobs in effect, counters as far as used up' })
  @ApiResponse({ status: 200, schema: openApiSchema(BehaviourSchema) })
  behaviour(): Behaviour {
    return this.faults.behaviour();
  }

  @Put('behaviour')
  @ApiOperation({ summary: 'Replace all knobs ({} clears them)' })
  @ApiBody({ schema: openApiSchema(BehaviourSchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(BehaviourSchema) })
  @ApiResponse(problemResponse(400, 'Invalid knobs'))
  replace(@Body(new ZodPipe(BehaviourSchema, 'body')) behaviour: Behaviour): Behaviour {
    this.faults.replace(behaviour);
    return this.faults.behaviour();
  }

  @Post('reset')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Clear the knobs; with ?ledger=true also the ledger (and LEDGER_FILE), authorizations and idempotency keys',
  })
  @ApiQuery({ name: 'ledger', required: false, enum: ['true', 'false'] })
  @ApiResponse({ status: 200, description: '{behaviour, ledgerCleared}' })
  reset(@Query(new ZodPipe(ResetQuerySchema, 'query')) query: ResetQuery): {
    behaviour: Behaviour;
    ledgerCleared: boolean;
  } {
    const ledger = query.ledger === 'true';
    this.payments.reset({ ledger });
    return { behaviour: this.faults.behaviour(), ledgerCleared: ledger };
  }

  @Get('in-flight')
  @ApiOperation({ summary: 'Requests currently delayed, hanging or holding their reply' })
  @ApiResponse({ status: 200, description: '{delaying, hanging, holdingReply}' })
  inFlight(): InFlight {
    return this.faults.inFlight();
  }
}
