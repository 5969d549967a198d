import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import { readBody, type HttpHandler } from '#kit';
import { InsufficientFundsError, InvalidTransferError } from '../domain/account.ts';
import { AccountNotFoundError, type TransferCommand, type TransferMoney } from '../application/transfer-money.ts';

const tracer = trace.getTracer('tracecraft.transfers');

interface Answer {
  status: number;
  body: unknown;
}

class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

/** POST /transfers: HTTP in, the use case, HTTP out. */
export function transfersHttpHandler(transferMoney: TransferMoney): HttpHandler {
  return (request, response) => {
    if (request.method !== 'POST' || request.url !== '/transfers') {
      response.writeHead(404).end();
      return;
    }
    const attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: 'POST',
      [ATTR_HTTP_ROUTE]: '/transfers',
      [ATTR_URL_PATH]: '/transfers',
    };
    return tracer.startActiveSpan('POST /transfers', { kind: SpanKind.SERVER, attributes }, async (span) => {
      try {
        const answer = await answerTransfer(request, transferMoney);
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
        if (answer.status >= 400) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.setAttribute(ATTR_ERROR_TYPE, String(answer.status));
        }
        send(response, answer);
      } finally {
        span.end();
      }
    });
  };
}

async function answerTransfer(request: IncomingMessage, transferMoney: TransferMoney): Promise<Answer> {
  try {
    return { status: 200, body: await transferMoney.execute(toCommand(await readBody(request))) };
  } catch (error) {
    if (error instanceof BadRequestError || error instanceof InvalidTransferError) return { status: 400, body: { error: error.message } };
    if (error instanceof AccountNotFoundError) return { status: 404, body: { error: error.message } };
    if (error instanceof InsufficientFundsError) return { status: 422, body: { error: error.message } };
    return { status: 500, body: { error: 'the transfer failed' } };
  }
}

function toCommand(text: string): TransferCommand {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequestError('the body is not JSON');
  }
  const { from, to, amountCents } = (body ?? {}) as Record<string, unknown>;
  if (typeof from !== 'string' || typeof to !== 'string' || typeof amountCents !== 'number') {
    throw new BadRequestError('expected { from, to, amountCents }');
  }
  return { fromAccountId: from, toAccountId: to, amountCents };
}

function send(response: ServerResponse, answer: Answer): void {
  response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
}
