import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { problemResponse } from '../http/openapi';
import { ZodPipe } from '../http/zod.pipe';
import type { LedgerEntry, LedgerSummary } from '../provider/ledger';
import { PaymentProvider } from '../provider/payment-provider';

// Strict: an unknown parameter (say `reference[$ne]`) is an error, not a silent "everything".
const LedgerQuerySchema = z.strictObject({ reference: z.string().min(1).max(200).optional() });
type LedgerQuery = z.infer<typeof LedgerQuerySchema>;
const ledgerQuery = new ZodPipe(LedgerQuerySchema, 'query');

const REFERENCE_QUERY = {
  name: 'reference',
  required: false,
  description: 'The reference given at authorization (e.g. the order id)',
};

/** The evidence: every effective money movement, for invariant checks after a scenario. */
@ApiTags('ledger')
@Controller('v1/ledger')
export class LedgerController {
  constructor(@Inject(PaymentProvider) private readonly provider: PaymentProvider) {}

  @Get()
  @ApiOperation({ summary: 'Ledger entries in order, optionally for one reference' })
  @ApiQuery(REFERENCE_QUERY)
  @ApiResponse({ status: 200, description: '{entries: [...]}' })
  @ApiResponse(problemResponse(400, 'Unknown or repeated query parameter'))
  list(@Query(ledgerQuery) query: LedgerQuery): { entries: LedgerEntry[] } {
    return { entries: this.provider.ledger.list(query.reference) };
  }

  @Get('summary')
  @ApiOperation({
    summary:
      'Totals per reference: with ?reference, that reference (zeros if unknown); without, {summaries: [...]}',
  })
  @ApiQuery(REFERENCE_QUERY)
  @ApiResponse({
    status: 200,
    description: '{reference, currencies, authorized, captured, voided, refunded, counts}',
  })
  @ApiResponse(problemResponse(400, 'Unknown or repeated query parameter'))
  summary(@Query(ledgerQuery) query: LedgerQuery): LedgerSummary | { summaries: LedgerSummary[] } {
    if (query.reference === undefined) return { summaries: this.provider.ledger.summaries() };
    return (
      this.provider.ledger.summaries(query.reference)[0] ?? {
        reference: query.reference,
        currencies: [],
        authorized: 0,
        captured: 0,
        voided: 0,
        refunded: 0,
        counts: { authorizations: 0, captures: 0, voids: 0, refunds: 0 },
      }
    );
  }
}
