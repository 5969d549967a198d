import type { ChargeRequest, ChargeResult, PaymentGateway } from '../domain/ports.ts';

/** A test token that the fake provider declines: `decline:<reason>`, e.g. `decline:insufficient_funds`. */
export const DECLINE_PREFIX = 'decline:';

/** A driven adapter standing in for a payment provider: approves every token except `decline:<reason>`. */
export class FakePaymentGateway implements PaymentGateway {
  readonly charges: ChargeRequest[] = [];

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    this.charges.push({ ...request });
    await Promise.resolve();
    if (request.paymentToken.startsWith(DECLINE_PREFIX)) {
      return { approved: false, reason: request.paymentToken.slice(DECLINE_PREFIX.length) || 'card_declined' };
    }
    return { approved: true, paymentId: `pay_${this.charges.length}` };
  }
}
