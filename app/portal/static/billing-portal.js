/*
 * <billing-portal api="https://billing.example.com" token="<JWT>" [project="<project id>"]>
 *
 * The account's Billing and Invoices tabs as one dependency-free web component (no build
 * step, no framework), its markup and styles inside an open shadow root so that neither the
 * host page's styles nor the portal's leak across. This classic script is what a page loads;
 * it imports the component's ES modules from beside itself (portal-element.js and the
 * modules it imports), so a plain <script src> works, no type="module" needed. Theme it
 * with the --billing-portal-* custom properties listed in STYLE (portal-view.js). It talks to the billing API with the
 * token it is given (the host page's origin must be in BILLING_CORS_ORIGINS), sends an
 * Idempotency-Key with every mutating request, and when the API answers 401 it says the
 * session expired and fires a `billing-portal-unauthenticated` event; setting a fresh
 * `token` attribute resumes.
 */

(() => {
  'use strict';
  if (customElements.get('billing-portal')) return;
  // Resolved against this script's own URL: the modules are served beside it.
  const element = new URL('portal-element.js', document.currentScript.src).href;
  import(element).then(({BillingPortal}) => {
    if (!customElements.get('billing-portal')) customElements.define('billing-portal', BillingPortal);
  });
})();
