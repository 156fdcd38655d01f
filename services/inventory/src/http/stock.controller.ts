import { Body, Controller, Get, Inject, Param, Put, Query, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Actors, AdminOnly, AuditLog, ProblemError, ZodPipe } from '@platform/service-defaults';
import type { Request } from 'express';
import { z } from 'zod';
import {
  ListStockQuery,
  SetStockBody,
  SkuParam,
  type StockPage,
  type StockView,
} from '../features/stock/stock-catalog';
import { InventoryRuntime } from '../infrastructure/inventory-runtime';

@ApiTags('stock')
@Controller()
export class StockController {
  constructor(
    @Inject(InventoryRuntime) private readonly runtime: InventoryRuntime,
    @Inject(Actors) private readonly actors: Actors,
    @Inject(AuditLog) private readonly audit: AuditLog,
  ) {}

  @Put('admin/stock/:sku')
  @AdminOnly('stock.changed')
  @ApiOperation({
    summary: "Set a SKU's available level and price (creates the SKU if missing)",
    description: 'Never changes reserved, sold or the holds of orders.',
  })
  @ApiBody({ schema: z.toJSONSchema(SetStockBody) as Record<string, unknown> })
  @ApiResponse({
    status: 200,
    description: '{ sku, available, reserved, sold, unitPrice, currency }',
  })
  @ApiResponse({ status: 400, description: 'Invalid SKU or body (problem+json with errors)' })
  async set(
    @Param('sku', new ZodPipe(SkuParam, 'sku')) sku: string,
    @Body(new ZodPipe(SetStockBody, 'stock level')) body: SetStockBody,
    @Req() request: Request,
  ): Promise<StockView> {
    const actor = this.actors.resolve(request);
    const subject = { type: 'sku', id: sku };
    const change = await this.runtime.catalog.change(sku, body).catch(async (error: unknown) => {
      await this.audit.record({
        action: 'stock.changed',
        actor,
        subject,
        outcome: 'failed',
        details: { requested: body, error: error instanceof Error ? error.message : String(error) },
      });
      throw error;
    });
    const level = ({ available, unitPrice, currency }: StockView) => ({
      available,
      unitPrice,
      currency,
    });
    await this.audit.record({
      action: 'stock.changed',
      actor,
      subject,
      outcome: 'succeeded',
      details: {
        previous: change.previous === undefined ? null : level(change.previous),
        new: level(change.current),
      },
    });
    return change.current;
  }

  @Get('stock/:sku')
  @ApiOperation({ summary: 'One SKU: available, reserved, sold, price' })
  @ApiResponse({ status: 404, description: 'Unknown SKU' })
  async get(@Param('sku', new ZodPipe(SkuParam, 'sku')) sku: string): Promise<StockView> {
    const found = await this.runtime.catalog.get(sku);
    if (found === undefined) throw new ProblemError(404, 'Not Found', `no stock for SKU ${sku}`);
    return found;
  }

  @Get('stock')
  @ApiOperation({ summary: 'All SKUs in id order, paged by cursor' })
  @ApiQuery({ name: 'limit', required: false, description: 'page size, capped at 100' })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  list(@Query(new ZodPipe(ListStockQuery, 'query')) query: ListStockQuery): Promise<StockPage> {
    return this.runtime.catalog.list(query);
  }
}
