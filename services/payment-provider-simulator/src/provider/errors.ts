import { DomainError } from '@platform/domain';

/** Codes of the provider's refusals; the HTTP edge maps each to a status in one table. */
export type ProviderErrorCode =
  | 'authorization-not-found'
  | 'capture-not-found'
  | 'invalid-authorization-state'
  | 'amount-exceeds-authorized'
  | 'amount-exceeds-refundable';

export class ProviderError extends DomainError {
  override readonly name: string = 'ProviderError';

  constructor(
    override readonly code: ProviderErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

export class AuthorizationNotFound extends ProviderError {
  constructor(authorizationId: string) {
    super('authorization-not-found', `authorization ${authorizationId} does not exist`);
  }
}

export class CaptureNotFound extends ProviderError {
  constructor(captureId: string) {
    super('capture-not-found', `capture ${captureId} does not exist`);
  }
}

export class InvalidAuthorizationState extends ProviderError {
  constructor(authorizationId: string, operation: string, status: string) {
    super(
      'invalid-authorization-state',
      `cannot ${operation} authorization ${authorizationId}: it is ${status}`,
    );
  }
}

export class AmountExceedsAuthorized extends ProviderError {
  constructor(amount: number, authorized: number) {
    super(
      'amount-exceeds-authorized',
      `capture amount ${amount} exceeds the authorized amount ${authorized}`,
    );
  }
}

export class AmountExceedsRefundable extends ProviderError {
  constructor(amount: number, refundable: number) {
    super(
      'amount-exceeds-refundable',
      `refund amount ${amount} exceeds the refundable amount ${refundable}`,
    );
  }
}
