import type { Notification, Notifier } from '../application/ports.ts';

/** Stands in for e-mail or push: keeps every notification sent, in order. */
export class InMemoryNotifier implements Notifier {
  readonly sent: Notification[] = [];

  async send(notification: Notification): Promise<void> {
    this.sent.push({ ...notification });
  }
}
