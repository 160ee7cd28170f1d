// <billing-portal>'s shared pieces: constants, the API error, DOM and formatting helpers,
// and the one Stripe.js loader of the page.

export const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const PAYABLE = new Set(['payment_due', 'not_paid']);
export const BRANDS = {
  visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express', discover: 'Discover',
  diners: 'Diners Club', jcb: 'JCB', unionpay: 'UnionPay',
};
export const SESSION_EXPIRED = 'Your session has expired. Sign in again to continue.';
export const AUTHENTICATION_FAILED = 'The card was not saved: authentication failed. Try again or use another card.';
export const PRIMARY_NOT_REMOVABLE =
  "The primary card can't be removed. Switch another card as primary first.";
// Which input shows the API's error for each field it names.
export const DETAIL_FIELDS = {
  name: 'name', email: 'email', 'address.line1': 'line1', 'address.line2': 'line2',
  'address.city': 'city', 'address.postal_code': 'postal_code', 'address.state': 'state',
  'address.country': 'country', vat_id: 'vat_id',
};
export const CARD_FIELDS = {number: 'number', exp_month: 'expires', exp_year: 'expires', cvc: 'cvc'};

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `The billing service answered ${status}.`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code;
  }
}

// Random enough to be unique per request; getRandomValues also works outside secure contexts.
export const idempotencyKey = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

export const el = (tag, attributes = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  node.append(...children.filter((child) => child != null));
  return node;
};

export const money = (amount, currency) => {
  const format = new Intl.NumberFormat('en', {style: 'currency', currency: currency.toUpperCase()});
  return format.format(amount / 10 ** format.resolvedOptions().maximumFractionDigits);
};
export const day = (iso) => new Intl.DateTimeFormat('en', {dateStyle: 'medium', timeZone: 'UTC'}).format(new Date(iso));
export const brand = (card) => BRANDS[card.brand] || (card.brand.charAt(0).toUpperCase() + card.brand.slice(1));
export const cardName = (card) => `${brand(card)} ending in ${card.last4}`;

let stripeScript = null;
// Stripe.js belongs to the top document (it looks itself up there), loaded once per page.
export const loadStripeJs = (url) => {
  if (window.Stripe) return Promise.resolve(window.Stripe);
  stripeScript = stripeScript || new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = url;
    script.onload = () => resolve(window.Stripe);
    script.onerror = () => { stripeScript = null; reject(new Error('Stripe.js could not be loaded.')); };
    document.head.append(script);
  });
  return stripeScript;
};
