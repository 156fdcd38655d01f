import { Body, Controller, Get, HttpCode, Inject, Post, Put, Query, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Actors, AdminOnly, AuditLog } from '@platform/service-defaults';
import type { Request } from 'express';
import { z } from 'zod';
import { BehaviourSchema, type Behaviour } from '../faults/behaviour';
import { FaultInjector, type InFlight } from '../faults/fault-injector';
import { openApiSchema, problemResponse } from '../http/openapi';
import { ZodPipe } from '../http/zod.pipe';
import { PaymentsService } from '../payments/payments.service';

const ResetQuerySchema = z.strictObject({ ledger: z.enum(['true', 'false']).optional() });
type ResetQuery = z.infer<typeof ResetQuerySchema>;

/**
 * Runtime knobs for failure scenarios. Changes apply to the next request. Behind the platform's
 * optional admin guard (open unless ADMIN_TOKENS is set); changes are audited.
 */
@ApiTags('admin')
@Controller('admin')
export class AdminController {
  constructor(
    @Inject(FaultInjector) private readonly faults: FaultInjector,
    @Inject(PaymentsService) private readonly payments: PaymentsService,
    @Inject(Actors) private readonly actors: Actors,
    @Inject(AuditLog) private readonly audit: AuditLog,
  ) {}

  @Get('behaviour')
  @AdminOnly('faults.read')
  @ApiOperation({ summary: 'The knobs in effect, counters as far as used up' })
  @ApiResponse({ status: 200, schema: openApiSchema(BehaviourSchema) })
  behaviour(): Behaviour {
    return this.faults.behaviour();
  }

  @Put('behaviour')
  @AdminOnly('faults.changed')
  @ApiOperation({ summary: 'Replace all knobs ({} clears them)' })
  @ApiBody({ schema: openApiSchema(BehaviourSchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(BehaviourSchema) })
  @ApiResponse(problemResponse(400, 'Invalid knobs'))
  async replace(
    @Body(new ZodPipe(BehaviourSchema, 'body')) behaviour: Behaviour,
    @Req() request: Request,
  ): Promise<Behaviour> {
    this.faults.replace(behaviour);
    const now = this.faults.behaviour();
    await this.audit.record({
      action: 'faults.changed',
      actor: this.actors.resolve(request),
      subject: { type: 'fault-knobs' },
      outcome: 'succeeded',
      details: { behaviour: now },
    });
    return now;
  }

  @Post('reset')
  @AdminOnly('provider.reset')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Clear the knobs; with ?ledger=true also the ledger (and LEDGER_FILE), authorizations and idempotency keys',
  })
  @ApiQuery({ name: 'ledger', required: false, enum: ['true', 'false'] })
  @ApiResponse({ status: 200, description: '{behaviour, ledgerCleared}' })
  async reset(
    @Query(new ZodPipe(ResetQuerySchema, 'query')) query: ResetQuery,
    @Req() request: Request,
  ): Promise<{ behaviour: Behaviour; ledgerCleared: boolean }> {
    const ledger = query.ledger === 'true';
    this.payments.reset({ ledger });
    await this.audit.record({
      action: 'provider.reset',
      actor: this.actors.resolve(request),
      subject: { type: 'provider' },
      outcome: 'succeeded',
      details: { ledgerCleared: ledger },
    });
    return { behaviour: this.faults.behaviour(), ledgerCleared: ledger };
  }

  @Get('in-flight')
  @AdminOnly('in-flight.read')
  @ApiOperation({ summary: 'Requests currently delayed, hanging or holding their reply' })
  @ApiResponse({ status: 200, description: '{delaying, hanging, holdingReply}' })
  inFlight(): InFlight {
    return this.faults.inFlight();
  }
}
