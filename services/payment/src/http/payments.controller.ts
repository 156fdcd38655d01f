import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProblemError, ZodPipe } from '@platform/service-defaults';
import { OrderIdParam, type PaymentView } from '../features/queries/payment-queries';
import { PaymentRuntime } from '../infrastructure/payment-runtime';

@ApiTags('payments')
@Controller('payments')
export class PaymentsController {
  constructor(@Inject(PaymentRuntime) private readonly runtime: PaymentRuntime) {}

  @Get(':orderId')
  @ApiOperation({ summary: "One order's payment, from its event stream" })
  @ApiParam({ name: 'orderId', format: 'uuid' })
  @ApiResponse({
    status: 200,
    description:
      '{orderId, status, version, amount, currency, authorizationId, captureId, ..., history}',
  })
  @ApiResponse({ status: 400, description: 'The order id is not a UUID (problem+json)' })
  @ApiResponse({ status: 404, description: 'No payment for this order (problem+json)' })
  async get(
    @Param('orderId', new ZodPipe(OrderIdParam, 'order id')) orderId: string,
  ): Promise<PaymentView> {
    const payment = await this.runtime.queries.get(orderId);
    if (!payment) throw new ProblemError(404, 'Not Found', `no payment for order ${orderId}`);
    return payment;
  }
}
