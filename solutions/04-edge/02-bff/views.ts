/*
 * What each client gets: the web page shows everything, the mobile app a smaller shape that fits a
 * phone screen and a mobile connection. A backend for frontends exists to make these two differ.
 */
import type { Item, Order, Profile, Recommendation } from './backends.ts';

/** How many orders and recommendations the mobile home shows. */
export const MOBILE_ORDERS = 3;
export const MOBILE_RECOMMENDATIONS = 3;

export interface WebLine {
  itemId: string;
  quantity: number;
  title: string;
  priceCents: number;
}

export interface WebOrder {
  id: string;
  status: string;
  placedAt: string;
  totalCents: number;
  lines: WebLine[];
}

export interface WebHome {
  profile: Profile;
  orders: WebOrder[];
  recommendations: Recommendation[];
  degraded: boolean;
}

export interface MobileOrder {
  id: string;
  status: string;
  totalCents: number;
  /** The quantities of its lines, added up. */
  itemCount: number;
}

export interface MobileHome {
  name: string;
  avatarUrl: string;
  orders: MobileOrder[];
  recommendations: Recommendation[];
  degraded: boolean;
}

/** An order with each line's item looked up. */
export function webOrder(order: Order, items: readonly Item[]): WebOrder {
  const lines = order.lines.map((line, i) => {
    const item = items[i] as Item;
    return { itemId: line.itemId, quantity: line.quantity, title: item.title, priceCents: item.priceCents };
  });
  return { id: order.id, status: order.status, placedAt: order.placedAt, totalCents: order.totalCents, lines };
}

/** Everything: the whole profile, every order with its items, every recommendation. */
export function webHome(profile: Profile, orders: WebOrder[], recommendations: Recommendation[] | undefined): WebHome {
  return { profile, orders, recommendations: recommendations ?? [], degraded: recommendations === undefined };
}

/** The smaller shape: who, the newest orders without their lines, the first recommendations. */
export function mobileHome(profile: Profile, orders: readonly Order[], recommendations: Recommendation[] | undefined): MobileHome {
  return {
    name: profile.name,
    avatarUrl: profile.avatarUrl,
    orders: orders.slice(0, MOBILE_ORDERS).map((order) => ({
      id: order.id,
      status: order.status,
      totalCents: order.totalCents,
      itemCount: order.lines.reduce((sum, line) => sum + line.quantity, 0),
    })),
    recommendations: (recommendations ?? []).slice(0, MOBILE_RECOMMENDATIONS),
    degraded: recommendations === undefined,
  };
}
