/** A domain event: something that happened in the domain, named in the past tense. */
export interface MoneyTransferred {
  type: 'MoneyTransferred';
  fromAccountId: string;
  toAccountId: string;
  amountCents: number;
}

export type DomainEvent = MoneyTransferred;
