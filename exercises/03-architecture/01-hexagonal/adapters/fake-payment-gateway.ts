import type { ChargeRequest, ChargeResult, PaymentGateway } from '../domain/ports.ts';

/** A test token that the fake provider declines: `decline:<reason>`, e.g. `decline:insufficient_funds`. */
export const DECLINE_PREFIX = 'decline:';
/** A test token that makes the fake provider fail, as one that is down: `error:<name>`, e.g. `error:ProviderUnavailableError`. */
export const ERROR_PREFIX = 'error:';

/**
 * A driven adapter standing in for a payment provider: approves every token except `decline:<reason>`
 * (a decline, answered as a value) and `error:<name>` (a failure: the call rejects with an error of that name).
 */
export class FakePaymentGateway implements PaymentGateway {
  readonly charges: ChargeRequest[] = [];

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    this.charges.push({ ...request });
    await Promise.resolve();
    if (request.paymentToken.startsWith(ERROR_PREFIX)) {
      const error = new Error('the payment provider did not answer');
      error.name = request.paymentToken.slice(ERROR_PREFIX.length) || 'ProviderUnavailableError';
      throw error;
    }
    if (request.paymentToken.startsWith(DECLINE_PREFIX)) {
      return { approved: false, reason: request.paymentToken.slice(DECLINE_PREFIX.length) || 'card_declined' };
    }
    return { approved: true, paymentId: `pay_${this.charges.length}` };
  }
}
