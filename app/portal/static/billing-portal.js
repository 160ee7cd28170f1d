/*
 * <billing-portal api="https://billing.example.com" token="<JWT>" [project="<project id>"]>
 *
 * The account's Billing and Invoices tabs as one dependency-free web component: a classic
 * script (no build step, no framework), its markup and styles inside an open shadow root so
 * that neither the host page's styles nor the portal's leak across. Theme it with the
 * --billing-portal-* custom properties listed in STYLE. It talks to the billing API with the
 * token it is given (the host page's origin must be in BILLING_CORS_ORIGINS), sends an
 * Idempotency-Key with every mutating request, and when the API answers 401 it says the
 * session expired and fires a `billing-portal-unauthenticated` event; setting a fresh
 * `token` attribute resumes.
 */
(() => {
  'use strict';
  if (customElements.get('billing-portal')) return;

  const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
  const PAYABLE = new Set(['payment_due', 'not_paid']);
  const BRANDS = {
    visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express', discover: 'Discover',
    diners: 'Diners Club', jcb: 'JCB', unionpay: 'UnionPay',
  };
  const SESSION_EXPIRED = 'Your session has expired. Sign in again to continue.';
  const AUTHENTICATION_FAILED = 'The card was not saved: authentication failed. Try again or use another card.';
  const PRIMARY_NOT_REMOVABLE =
    "The primary card can't be removed. Switch another card as primary first.";
  // Which input shows the API's error for each field it names.
  const DETAIL_FIELDS = {
    name: 'name', email: 'email', 'address.line1': 'line1', 'address.line2': 'line2',
    'address.city': 'city', 'address.postal_code': 'postal_code', 'address.state': 'state',
    'address.country': 'country', vat_id: 'vat_id',
  };
  const CARD_FIELDS = {number: 'number', exp_month: 'expires', exp_year: 'expires', cvc: 'cvc'};

  const STYLE = `
    :host {
      all: initial; display: block; contain: content;
      font-family: var(--billing-portal-font-family, system-ui, -apple-system, "Segoe UI", sans-serif);
      font-size: var(--billing-portal-font-size, 14px); line-height: 1.45;
      color: var(--billing-portal-text-color, #32324d);
      background: var(--billing-portal-background, #f6f6f9);
      --accent: var(--billing-portal-accent, #4945ff);
      --accent-text: var(--billing-portal-accent-text, #ffffff);
      --surface: var(--billing-portal-surface, #ffffff);
      --border: var(--billing-portal-border-color, #dcdce4);
      --muted: var(--billing-portal-muted-color, #5e5e7a);
      --danger: var(--billing-portal-danger-color, #b72b1a);
      --radius: var(--billing-portal-radius, 4px);
    }
    [hidden] { display: none !important; }
    * { box-sizing: border-box; }
    .portal { padding: 16px; }
    h2 { font-size: 1.15em; margin: 0 0 12px; }
    .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
      clip: rect(0 0 0 0); white-space: nowrap; }
    [role=tablist] { display: flex; gap: 4px; border-bottom: 1px solid var(--border); margin-bottom: 16px; }
    [role=tab] { font: inherit; color: var(--muted); background: none; border: 0;
      border-bottom: 2px solid transparent; padding: 8px 12px; cursor: pointer; }
    [role=tab][aria-selected=true] { color: var(--accent); border-bottom-color: var(--accent); font-weight: 600; }
    section.box { background: var(--surface); border: 1px solid var(--border);
      border-radius: var(--radius); padding: 16px; margin-bottom: 16px; }
    button, .button { font: inherit; border-radius: var(--radius); padding: 6px 12px; cursor: pointer;
      border: 1px solid var(--border); background: var(--surface); color: inherit; text-decoration: none; }
    button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
    button:disabled { opacity: .6; cursor: progress; }
    :focus-visible { outline: 2px solid var(--billing-portal-focus-color, var(--accent)); outline-offset: 2px; }
    .cards { list-style: none; margin: 0 0 12px; padding: 0; }
    .card { display: flex; align-items: center; gap: 12px; padding: 8px 0; border-bottom: 1px solid var(--border); }
    .card .what { flex: 1; }
    .card .exp { color: var(--muted); }
    .badge { display: inline-block; border-radius: var(--radius); padding: 0 6px; font-size: .85em;
      font-weight: 600; border: 1px solid currentColor; }
    .badge.primary, .status-payment_pending { color: #271fe0; background: #f0f0ff; }
    .status-paid { color: #2f6846; background: #eafbe7; }
    .status-payment_due, .status-not_paid, .badge.expired { color: var(--danger); background: #fcecea; }
    .status-voided { color: #4a4a6a; background: #f6f6f9; }
    .menu-wrap { position: relative; }
    [role=menu] { position: absolute; right: 0; z-index: 2; margin: 4px 0 0; padding: 4px; list-style: none;
      min-width: 180px; background: var(--surface); border: 1px solid var(--border);
      border-radius: var(--radius); box-shadow: 0 2px 8px rgba(0, 0, 0, .15); }
    [role=menuitem] { padding: 6px 10px; cursor: pointer; border-radius: var(--radius); }
    [role=menuitem]:hover, [role=menuitem]:focus { background: #f0f0ff; outline: none; }
    [role=menuitem][aria-disabled=true] { color: var(--muted); cursor: not-allowed; }
    form .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 12px; }
    .field label { display: inline-block; font-weight: 600; margin-bottom: 4px; }
    .field input, .field select { font: inherit; color: inherit; background: var(--surface); width: 100%;
      padding: 6px 8px; border: 1px solid var(--border); border-radius: var(--radius); }
    .field [aria-invalid=true] { border-color: var(--danger); }
    .field-error { color: var(--danger); margin: 4px 0 0; font-size: .9em; }
    .mandatory { color: var(--danger); }
    .actions { display: flex; gap: 8px; margin-top: 12px; align-items: center; }
    .note { color: var(--muted); margin: 8px 0; }
    .message { margin: 8px 0; }
    .message.error, .alert { color: var(--danger); }
    .alert { border: 1px solid var(--danger); background: #fcecea; border-radius: var(--radius);
      padding: 8px 12px; margin-bottom: 12px; }
    .element { padding: 8px; border: 1px solid var(--border); border-radius: var(--radius); background: var(--surface); }
    table { width: 100%; border-collapse: collapse; background: var(--surface); }
    th, td { text-align: left; padding: 8px; border-bottom: 1px solid var(--border); }
    th { color: var(--muted); font-size: .85em; text-transform: uppercase; }
    td.amount { font-variant-numeric: tabular-nums; }
    .row-actions { display: flex; gap: 8px; align-items: center; justify-content: flex-end; }
    .row-actions a { color: var(--accent); }
    .toolbar { display: flex; gap: 8px; align-items: center; margin-bottom: 12px; }
    .toolbar select { font: inherit; padding: 4px 8px; border: 1px solid var(--border); border-radius: var(--radius); }
    dialog { border: 1px solid var(--border); border-radius: var(--radius); padding: 20px; max-width: 360px;
      color: inherit; background: var(--surface); }
    dialog::backdrop { background: rgba(33, 33, 52, .4); }
  `;

  // `required` marks the field; `conditional` marks it only when the portal says so (State).
  const field = (id, label, {type = 'text', required = false, conditional = false, autocomplete = 'off', select = false} = {}) => `
    <div class="field">
      <label for="${id}">${label}</label>${required || conditional
        ? ` <span class="mandatory" aria-hidden="true"${conditional ? ' hidden' : ''}>*</span>` : ''}
      ${select ? `<select id="${id}" autocomplete="${autocomplete}"${required ? ' aria-required="true"' : ''}></select>`
               : `<input id="${id}" type="${type}" autocomplete="${autocomplete}"${required ? ' aria-required="true"' : ''}>`}
      <p class="field-error" id="${id}-error" hidden></p>
    </div>`;

  const TEMPLATE = `
    <div class="portal" part="portal">
      <div class="alert" role="alert" id="session" hidden></div>
      <div role="tablist" aria-label="Billing portal">
        <button role="tab" id="tab-billing" aria-controls="panel-billing" aria-selected="true">Billing</button>
        <button role="tab" id="tab-invoices" aria-controls="panel-invoices" aria-selected="false" tabindex="-1">Invoices</button>
      </div>
      <div role="tabpanel" id="panel-billing" aria-labelledby="tab-billing">
        <section class="box" aria-labelledby="cards-title">
          <h2 id="cards-title">Payment method</h2>
          <div id="cards-state"></div>
          <ul class="cards" id="cards" aria-label="Cards"></ul>
          <p class="message" id="cards-message" role="status"></p>
          <button type="button" id="add-card">Add card</button>
          <form id="card-form" aria-labelledby="card-form-title" novalidate hidden>
            <h3 id="card-form-title" class="visually-hidden">Add card</h3>
            <div class="grid" id="sandbox-card-fields">
              ${field('number', 'Card Number', {autocomplete: 'cc-number'})}
              ${field('expires', 'Expires', {autocomplete: 'cc-exp'})}
              ${field('cvc', 'CVC', {autocomplete: 'cc-csc'})}
            </div>
            <div class="field" id="stripe-card-field" hidden>
              <span class="label" id="stripe-card-label">Card</span>
              <div class="element" id="stripe-card" role="group" aria-labelledby="stripe-card-label"></div>
            </div>
            <p class="note" id="card-note"></p>
            <div class="actions">
              <button type="submit" class="primary">Save</button>
              <button type="button" id="cancel-card">Cancel</button>
            </div>
          </form>
        </section>
        <section class="box" aria-labelledby="details-title">
          <h2 id="details-title">Billing details</h2>
          <div id="details-state"></div>
          <form id="details-form" aria-labelledby="details-title" novalidate hidden>
            <p class="note">Fields marked <span class="mandatory" aria-hidden="true">*</span><span class="visually-hidden">with an asterisk</span> are required.</p>
            <div class="grid">
              ${field('name', 'Name', {required: true, autocomplete: 'name'})}
              ${field('email', 'Email', {type: 'email', required: true, autocomplete: 'email'})}
              ${field('line1', 'Address line 1', {required: true, autocomplete: 'address-line1'})}
              ${field('line2', 'Address line 2', {autocomplete: 'address-line2'})}
              ${field('city', 'City', {required: true, autocomplete: 'address-level2'})}
              ${field('postal_code', 'Postal code', {required: true, autocomplete: 'postal-code'})}
              ${field('state', 'State', {conditional: true, autocomplete: 'address-level1'})}
              ${field('country', 'Country', {required: true, autocomplete: 'country', select: true})}
              ${field('vat_id', 'VAT number')}
            </div>
            <div class="actions">
              <button type="submit" class="primary">Save</button>
              <p class="message" id="details-message" role="status"></p>
            </div>
          </form>
        </section>
      </div>
      <div role="tabpanel" id="panel-invoices" aria-labelledby="tab-invoices" hidden>
        <section class="box" aria-labelledby="invoices-title">
          <h2 id="invoices-title">Invoices</h2>
          <div class="toolbar" id="project-filter-bar">
            <label for="project-filter">Project</label>
            <select id="project-filter"><option value="">All projects</option></select>
          </div>
          <div id="invoices-state"></div>
          <table id="invoices-table" hidden>
            <caption class="visually-hidden">Invoices</caption>
            <thead><tr>
              <th scope="col">Number</th><th scope="col">Project</th><th scope="col">Date</th>
              <th scope="col">Amount</th><th scope="col">Status</th>
              <th scope="col"><span class="visually-hidden">Actions</span></th>
            </tr></thead>
            <tbody id="invoices"></tbody>
          </table>
          <p class="note" id="invoices-empty" hidden>No invoices yet.</p>
          <p class="message" id="invoices-message" role="status"></p>
          <button type="button" id="load-more" hidden>Load more</button>
        </section>
      </div>
      <dialog id="challenge" aria-labelledby="challenge-title" aria-describedby="challenge-text">
        <h2 id="challenge-title">3D Secure</h2>
        <p id="challenge-text">Your bank asks you to confirm that it is you. In the sandbox you play the bank: choose its answer.</p>
        <div class="actions">
          <button type="button" class="primary" value="complete">Complete authentication</button>
          <button type="button" value="fail">Fail authentication</button>
        </div>
      </dialog>
    </div>`;

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `The billing service answered ${status}.`);
      this.status = status;
      this.problem = problem || {};
      this.code = this.problem.code;
    }
  }

  // Random enough to be unique per request; getRandomValues also works outside secure contexts.
  const idempotencyKey = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

  const el = (tag, attributes = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === false || value == null) continue;
      if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : value);
    }
    node.append(...children.filter((child) => child != null));
    return node;
  };

  const money = (amount, currency) => {
    const format = new Intl.NumberFormat('en', {style: 'currency', currency: currency.toUpperCase()});
    return format.format(amount / 10 ** format.resolvedOptions().maximumFractionDigits);
  };
  const day = (iso) => new Intl.DateTimeFormat('en', {dateStyle: 'medium', timeZone: 'UTC'}).format(new Date(iso));
  const brand = (card) => BRANDS[card.brand] || (card.brand.charAt(0).toUpperCase() + card.brand.slice(1));
  const cardName = (card) => `${brand(card)} ending in ${card.last4}`;

  let stripeScript = null;
  // Stripe.js belongs to the top document (it looks itself up there), loaded once per page.
  const loadStripeJs = (url) => {
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

  class BillingPortal extends HTMLElement {
    static get observedAttributes() { return ['api', 'token', 'project']; }

    constructor() {
      super();
      this.root = this.attachShadow({mode: 'open'});
      this.root.innerHTML = `<style>${STYLE}</style>${TEMPLATE}`;
      this.$ = (id) => this.root.getElementById(id);
      this.config = null;
      this.invoices = [];
      this.cursor = null;
      this.started = false;
      this.wire();
    }

    connectedCallback() {
      if (!this.started) { this.started = true; this.loadAll(); }
    }

    attributeChangedCallback(name, before, after) {
      if (!this.started || before === after) return;
      this.$('session').hidden = true;
      if (name === 'api') this.config = null;
      this.loadAll();
    }

    get api() { return (this.getAttribute('api') || '').replace(/\/+$/, ''); }
    get project() { return this.getAttribute('project') || ''; }

    async send(method, path, body) {
      const token = this.getAttribute('token') || '';
      const headers = {Accept: 'application/json', Authorization: `Bearer ${token}`};
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      if (MUTATING.has(method)) headers['Idempotency-Key'] = idempotencyKey();
      let response;
      try {
        response = await fetch(this.api + path, {
          method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit',
        });
      } catch {
        throw new ApiError(0, {code: 'network_error',
          detail: 'The billing service could not be reached. Check your connection and try again.'});
      }
      if (response.status === 401) {
        // A late answer to a token already replaced says nothing about the current one.
        if (token === (this.getAttribute('token') || '')) this.sessionExpired();
        throw new ApiError(401, {code: 'unauthenticated', detail: SESSION_EXPIRED});
      }
      return response;
    }

    async request(method, path, body) {
      const response = await this.send(method, path, body);
      if (response.status === 204) return null;
      const data = await response.json().catch(() => null);
      if (!response.ok) throw new ApiError(response.status, data);
      return data;
    }

    sessionExpired() {
      const alert = this.$('session');
      if (!alert.hidden) return; // once per token, however many requests were refused
      alert.textContent = SESSION_EXPIRED;
      alert.hidden = false;
      this.dispatchEvent(new CustomEvent('billing-portal-unauthenticated', {bubbles: true, composed: true}));
    }

    // Runs `load` with a loading message in `stateId`; on failure shows the error and a Retry.
    async withState(stateId, label, load) {
      const state = this.$(stateId);
      state.replaceChildren(el('p', {role: 'status', class: 'note'}, `Loading ${label}…`));
      state.closest('section').setAttribute('aria-busy', 'true');
      try {
        await load();
        state.replaceChildren();
      } catch (error) {
        state.replaceChildren(error.status === 401 ? '' : el('div', {class: 'alert', role: 'alert'},
          `${label.charAt(0).toUpperCase() + label.slice(1)} could not be loaded: ${error.message} `,
          el('button', {type: 'button', onclick: () => this.withState(stateId, label, load)}, 'Retry')));
      } finally {
        state.closest('section').removeAttribute('aria-busy');
      }
    }

    loadAll() {
      if (!this.api) return;
      this.withState('cards-state', 'cards', async () => {
        await this.loadConfig();
        await this.loadCards();
      });
      this.withState('details-state', 'billing details', async () => {
        await this.loadConfig();
        await this.loadDetails();
      });
      this.withState('invoices-state', 'invoices', async () => {
        await this.loadProjects();
        await this.loadInvoices(false);
      });
    }

    loadConfig() {
      this.configPromise = (this.config && this.configPromise) || this.request('GET', '/v1/portal/config').then((config) => {
        this.config = config;
        const select = this.$('country');
        select.replaceChildren(el('option', {value: ''}, 'Select a country'),
          ...config.countries.map((c) => el('option', {value: c.code}, c.name)));
        this.$('sandbox-card-fields').hidden = config.provider !== 'sandbox';
        this.$('stripe-card-field').hidden = config.provider === 'sandbox';
        this.$('card-note').textContent = config.provider === 'sandbox'
          ? 'Sandbox: use a test card such as 4242 4242 4242 4242.' : '';
        return config;
      }, (error) => { this.configPromise = null; throw error; });
      return this.configPromise;
    }

    wire() {
      const tabs = [this.$('tab-billing'), this.$('tab-invoices')];
      tabs.forEach((tab, index) => {
        tab.addEventListener('click', () => this.selectTab(tab));
        tab.addEventListener('keydown', (event) => {
          const step = {ArrowRight: 1, ArrowLeft: -1}[event.key];
          if (step === undefined) return;
          event.preventDefault();
          const next = tabs[(index + step + tabs.length) % tabs.length];
          this.selectTab(next);
          next.focus();
        });
      });
      this.$('add-card').addEventListener('click', () => this.openCardForm());
      this.$('cancel-card').addEventListener('click', () => this.closeCardForm());
      this.$('card-form').addEventListener('submit', (event) => { event.preventDefault(); this.saveCard(); });
      this.$('details-form').addEventListener('submit', (event) => { event.preventDefault(); this.saveDetails(); });
      this.$('country').addEventListener('change', () => this.markStateRequired());
      this.$('project-filter').addEventListener('change', () =>
        this.withState('invoices-state', 'invoices', () => this.loadInvoices(false)));
      this.$('load-more').addEventListener('click', () =>
        this.withState('invoices-state', 'more invoices', () => this.loadInvoices(true)));
      for (const button of this.$('challenge').querySelectorAll('button')) {
        button.addEventListener('click', () => this.$('challenge').close(button.value));
      }
      this.root.addEventListener('pointerdown', (event) => {
        if (!event.composedPath().some((node) => node.classList && node.classList.contains('menu-wrap'))) this.closeMenus();
      });
    }

    selectTab(tab) {
      for (const other of this.root.querySelectorAll('[role=tab]')) {
        const selected = other === tab;
        other.setAttribute('aria-selected', String(selected));
        other.tabIndex = selected ? 0 : -1;
        this.$(other.getAttribute('aria-controls')).hidden = !selected;
      }
    }

    message(id, text, isError = false) {
      const node = this.$(id);
      node.textContent = text;
      node.classList.toggle('error', isError);
    }

    // ---- Payment method ----

    async loadCards() {
      const page = await this.request('GET', '/v1/cards');
      const list = this.$('cards');
      list.replaceChildren(...page.data.map((card) => this.cardItem(card)));
      if (!page.data.length) list.append(el('li', {class: 'note'}, 'No card yet: add one to pay your invoices.'));
    }

    cardItem(card) {
      const nameId = `card-${card.id}`;
      const reasonId = `reason-${card.id}`;
      const menu = el('ul', {role: 'menu', id: `menu-${card.id}`, 'aria-label': cardName(card), hidden: true});
      const button = el('button', {
        type: 'button', class: 'menu-button', 'aria-label': 'Card menu', 'aria-haspopup': 'menu',
        'aria-expanded': 'false', 'aria-controls': menu.id, 'aria-describedby': nameId,
      }, el('span', {'aria-hidden': 'true'}, '⋯'));
      const item = (label, run, disabled = false, describedBy = null) => el('li', {
        role: 'menuitem', tabindex: '-1', 'aria-disabled': disabled ? 'true' : null,
        'aria-describedby': describedBy, onclick: () => { this.closeMenus(button); run(); },
      }, label);
      menu.append(
        item('Switch as primary', () => card.is_primary || this.makePrimary(card), card.is_primary),
        card.is_primary
          ? item('Remove card', () => this.message('cards-message', PRIMARY_NOT_REMOVABLE, true), true, reasonId)
          : item('Remove card', () => this.removeCard(card)),
      );
      button.addEventListener('click', () => (menu.hidden ? this.openMenu(button, menu) : this.closeMenus(button)));
      button.addEventListener('keydown', (event) => {
        if (event.key === 'ArrowDown') { event.preventDefault(); this.openMenu(button, menu); }
      });
      menu.addEventListener('keydown', (event) => this.menuKey(event, button, menu));
      return el('li', {class: 'card', 'data-card-id': card.id},
        el('span', {class: 'what', id: nameId},
          `${brand(card)} `, el('span', {'aria-hidden': 'true'}, '•••• '),
          el('span', {class: 'visually-hidden'}, 'ending in '), card.last4),
        el('span', {class: 'exp'}, `Expires ${String(card.exp_month).padStart(2, '0')}/${String(card.exp_year).slice(-2)}`),
        card.is_expired ? el('span', {class: 'badge expired'}, 'Expired') : null,
        card.is_primary ? el('span', {class: 'badge primary'}, 'Primary') : null,
        card.is_primary ? el('span', {id: reasonId, hidden: true}, PRIMARY_NOT_REMOVABLE) : null,
        el('div', {class: 'menu-wrap'}, button, menu));
    }

    openMenu(button, menu) {
      this.closeMenus();
      menu.hidden = false;
      button.setAttribute('aria-expanded', 'true');
      menu.querySelector('[role=menuitem]').focus();
    }

    closeMenus(focusButton = null) {
      for (const menu of this.root.querySelectorAll('[role=menu]')) menu.hidden = true;
      for (const button of this.root.querySelectorAll('.menu-button')) button.setAttribute('aria-expanded', 'false');
      if (focusButton) focusButton.focus();
    }

    menuKey(event, button, menu) {
      const items = [...menu.querySelectorAll('[role=menuitem]')];
      const index = items.indexOf(this.root.activeElement);
      const move = {ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: items.length - 1}[event.key];
      if (move !== undefined) {
        event.preventDefault();
        items[(move + items.length) % items.length].focus();
      } else if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        if (index >= 0) items[index].click();
      } else if (event.key === 'Escape') {
        event.preventDefault();
        this.closeMenus(button);
      } else if (event.key === 'Tab') {
        this.closeMenus();
      }
    }

    async cardAction(run, done) {
      this.message('cards-message', 'Working…');
      try {
        await run();
        await this.loadCards();
        this.message('cards-message', done);
      } catch (error) {
        this.message('cards-message', error.status === 401 ? '' : error.message, true);
      }
    }

    makePrimary(card) {
      return this.cardAction(async () => {
        await this.request('POST', `/v1/cards/${encodeURIComponent(card.id)}/primary`);
      }, `${cardName(card)} is now your primary card.`).then(() => {
        const moved = this.root.querySelector(`[data-card-id="${card.id}"] .menu-button`);
        if (moved) moved.focus();
      });
    }

    removeCard(card) {
      return this.cardAction(async () => {
        await this.request('DELETE', `/v1/cards/${encodeURIComponent(card.id)}`);
      }, `${cardName(card)} removed.`).then(() => this.$('add-card').focus());
    }

    async openCardForm() {
      const form = this.$('card-form');
      form.reset();
      this.showFieldErrors(null, {});
      this.message('cards-message', '');
      form.hidden = false;
      this.$('add-card').hidden = true;
      try {
        const config = await this.loadConfig();
        if (config.provider === 'sandbox') {
          this.$('number').focus();
        } else {
          await this.stripeCardElement();
          const first = this.$('stripe-card').querySelector('input, iframe');
          (first || this.$('stripe-card')).focus();
        }
      } catch (error) {
        this.message('cards-message', error.status === 401 ? '' : error.message, true);
      }
    }

    closeCardForm() {
      this.$('card-form').hidden = true;
      this.$('add-card').hidden = false;
      this.$('add-card').focus();
    }

    // Sandbox: the expiry typed as "MM / YY" (or MM/YYYY); null and a field error otherwise.
    readSandboxCard() {
      const match = /^\s*(\d{1,2})\s*\/?\s*(\d{2}|\d{4})\s*$/.exec(this.$('expires').value);
      if (!match || +match[1] < 1 || +match[1] > 12) {
        this.showFieldErrors({errors: [{field: 'exp_month', message: 'Enter the expiry date as MM / YY.'}]}, CARD_FIELDS);
        return null;
      }
      return {
        number: this.$('number').value.replace(/[\s-]/g, ''),
        exp_month: +match[1],
        exp_year: match[2].length === 2 ? 2000 + +match[2] : +match[2],
        cvc: this.$('cvc').value.trim(),
      };
    }

    async saveCard() {
      const form = this.$('card-form');
      const save = form.querySelector('[type=submit]');
      this.showFieldErrors(null, {});
      const config = await this.loadConfig();
      const values = config.provider === 'sandbox' ? this.readSandboxCard() : null;
      if (config.provider === 'sandbox' && !values) return;
      save.disabled = true;
      this.message('cards-message', 'Saving card…');
      try {
        const card = config.provider === 'sandbox' ? await this.addSandboxCard(values) : await this.addStripeCard();
        form.hidden = true;
        this.$('add-card').hidden = false;
        await this.loadCards();
        this.message('cards-message', `${cardName(card)} added.`);
        this.$('add-card').focus();
      } catch (error) {
        const fields = error.status === 422 && this.showFieldErrors(error.problem, CARD_FIELDS, 'number');
        this.message('cards-message', error.status === 401 ? '' : fields ? 'Check the highlighted fields.' : error.message, true);
      } finally {
        save.disabled = false;
      }
    }

    // Sandbox: the portal plays Stripe.js (confirming the setup intent with the typed card)
    // and the bank (the "3D Secure" dialog when the card asks for authentication).
    async addSandboxCard(values) {
      const intent = await this.request('POST', '/v1/cards/setup-intents');
      const path = `/v1/sandbox/setup-intents/${encodeURIComponent(intent.id)}`;
      let confirmed = await this.request('POST', `${path}/confirm`, values);
      if (confirmed.status === 'requires_action') {
        confirmed = await this.request('POST', `${path}/authenticate`, {success: await this.challenge()});
      }
      if (confirmed.status !== 'succeeded') throw new ApiError(402, {detail: AUTHENTICATION_FAILED});
      return this.request('POST', '/v1/cards', {setup_intent: intent.id});
    }

    async addStripeCard() {
      const stripe = await this.stripe();
      const element = await this.stripeCardElement();
      const intent = await this.request('POST', '/v1/cards/setup-intents');
      const result = await stripe.confirmCardSetup(intent.client_secret, {payment_method: {card: element}});
      if (result.error) throw new ApiError(402, {detail: result.error.message || 'The card could not be saved.'});
      return this.request('POST', '/v1/cards', {setup_intent: intent.id});
    }

    async stripe() {
      if (!this.stripeInstance) {
        const config = await this.loadConfig();
        if (!config.stripe_publishable_key) {
          throw new ApiError(0, {detail: 'Card entry is not configured: the billing service has no Stripe publishable key.'});
        }
        const Stripe = await loadStripeJs(config.stripe_js_url);
        this.stripeInstance = Stripe(config.stripe_publishable_key);
      }
      return this.stripeInstance;
    }

    async stripeCardElement() {
      if (!this.cardElement) {
        const stripe = await this.stripe();
        this.cardElement = stripe.elements().create('card');
        this.cardElement.mount(this.$('stripe-card'));
      }
      return this.cardElement;
    }

    // ---- Billing details ----

    async loadDetails() {
      this.fillDetails(await this.request('GET', '/v1/billing-details'));
      this.$('details-form').hidden = false;
    }

    fillDetails(details) {
      const address = details.address || {};
      const values = {
        name: details.name, email: details.email, line1: address.line1, line2: address.line2, city: address.city,
        postal_code: address.postal_code, state: address.state, country: address.country, vat_id: details.vat_id,
      };
      for (const [id, value] of Object.entries(values)) this.$(id).value = value || '';
      this.markStateRequired();
    }

    markStateRequired() {
      const required = Boolean(this.config) && this.config.state_required_countries.includes(this.$('country').value);
      const state = this.$('state');
      if (required) state.setAttribute('aria-required', 'true'); else state.removeAttribute('aria-required');
      state.closest('.field').querySelector('.mandatory').hidden = !required;
    }

    async saveDetails() {
      const value = (id) => this.$(id).value.trim() || null;
      const body = {
        name: value('name'), email: value('email'), vat_id: value('vat_id'),
        address: {
          line1: value('line1'), line2: value('line2'), city: value('city'),
          postal_code: value('postal_code'), state: value('state'), country: value('country'),
        },
      };
      const save = this.$('details-form').querySelector('[type=submit]');
      save.disabled = true;
      this.message('details-message', 'Saving…');
      try {
        this.fillDetails(await this.request('PUT', '/v1/billing-details', body));
        this.showFieldErrors(null, {});
        this.message('details-message', 'Billing details saved.');
      } catch (error) {
        const fields = error.status === 422 && this.showFieldErrors(error.problem, DETAIL_FIELDS);
        this.message('details-message', error.status === 401 ? '' : fields ? 'Check the highlighted fields.' : error.message, true);
      } finally {
        save.disabled = false;
      }
    }

    // ---- Invoices ----

    async loadProjects() {
      this.$('project-filter-bar').hidden = Boolean(this.project);
      if (this.project) return;
      const page = await this.request('GET', '/v1/projects?limit=100');
      const select = this.$('project-filter');
      const current = select.value;
      select.replaceChildren(el('option', {value: ''}, 'All projects'),
        ...page.data.map((project) => el('option', {value: project.id}, project.name)));
      select.value = page.data.some((project) => project.id === current) ? current : '';
    }

    async loadInvoices(more) {
      const size = Math.min(Math.max(parseInt(this.getAttribute('page-size'), 10) || 20, 1), 100);
      const query = new URLSearchParams({limit: String(size)});
      if (more && this.cursor) query.set('cursor', this.cursor);
      let path = '/v1/invoices';
      if (this.project) path = `/v1/projects/${encodeURIComponent(this.project)}/invoices`;
      else if (this.$('project-filter').value) query.set('project_id', this.$('project-filter').value);
      const page = await this.request('GET', `${path}?${query}`);
      const before = more ? this.invoices.length : 0;
      this.invoices = more ? this.invoices.concat(page.data) : page.data;
      this.cursor = page.next_cursor;
      this.renderInvoices();
      this.$('load-more').hidden = !page.has_more;
      if (more && page.data.length) this.$('invoices').rows[before].cells[0].focus();
    }

    renderInvoices() {
      this.$('invoices').replaceChildren(...this.invoices.map((invoice) => this.invoiceRow(invoice)));
      this.$('invoices-table').hidden = !this.invoices.length;
      this.$('invoices-empty').hidden = Boolean(this.invoices.length);
    }

    invoiceRow(invoice) {
      const actions = el('div', {class: 'row-actions'});
      if (invoice.pdf_url) {
        actions.append(el('a', {
          href: this.api + invoice.pdf_url, download: `${invoice.number}.pdf`,
          onclick: (event) => { event.preventDefault(); this.download(invoice); },
        }, 'Download', el('span', {class: 'visually-hidden'}, ` invoice ${invoice.number}`)));
      }
      if (PAYABLE.has(invoice.status)) {
        const pay = el('button', {type: 'button', class: 'primary', 'aria-describedby': `number-${invoice.id}`}, 'Pay now');
        pay.addEventListener('click', () => this.pay(invoice, pay));
        actions.append(pay);
      }
      return el('tr', {'data-invoice-id': invoice.id},
        el('td', {id: `number-${invoice.id}`, tabindex: '-1'}, invoice.number || 'Draft'),
        el('td', {}, invoice.project_name),
        el('td', {}, day(invoice.finalized_at || invoice.created_at)),
        el('td', {class: 'amount'}, money(invoice.total, invoice.currency)),
        el('td', {}, el('span', {class: `badge status-${invoice.status}`}, invoice.status_label)),
        el('td', {}, actions));
    }

    async download(invoice) {
      try {
        const response = await this.send('GET', invoice.pdf_url);
        if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
        const url = URL.createObjectURL(await response.blob());
        const link = el('a', {href: url, download: `${invoice.number}.pdf`, hidden: true});
        this.root.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
      } catch (error) {
        this.message('invoices-message', error.status === 401 ? '' : error.message, true);
      }
    }

    async pay(invoice, button) {
      const path = `/v1/invoices/${encodeURIComponent(invoice.id)}`;
      const name = `Invoice ${invoice.number}`;
      button.disabled = true;
      this.message('invoices-message', `Paying ${name}…`);
      try {
        let result;
        try {
          result = await this.request('POST', `${path}/pay`);
        } catch (error) {
          const action = error.problem && error.problem.next_action;
          if (error.code !== 'authentication_required' || !action) throw error;
          const passed = await this.authenticatePayment(action);
          result = await this.request('GET', path);
          // Stripe marks the invoice paid on its webhook or when `pay` finds the intent
          // succeeded; asking again never charges twice.
          if (passed && PAYABLE.has(result.status)) result = await this.request('POST', `${path}/pay`);
        }
        this.invoices = this.invoices.map((known) => (known.id === result.id ? result : known));
        this.renderInvoices();
        this.message('invoices-message', result.status === 'paid' ? `${name} paid.`
          : `${name} is not paid: authentication failed. Try again or use another card.`, result.status !== 'paid');
      } catch (error) {
        if (button.isConnected) button.disabled = false;
        this.message('invoices-message', error.status === 401 ? '' : `${name} is not paid: ${error.message}`, true);
      }
    }

    async authenticatePayment(action) {
      if (this.config.provider !== 'sandbox') {
        const result = await (await this.stripe()).confirmCardPayment(action.client_secret);
        return !result.error && result.paymentIntent.status === 'succeeded';
      }
      const passed = await this.challenge();
      try {
        await this.request('POST', `/v1/sandbox/payment-intents/${encodeURIComponent(action.payment_intent)}/authenticate`,
          {success: passed});
      } catch (error) {
        if (passed) throw error; // a failed challenge may be answered as an error: it is one
      }
      return passed;
    }

    // ---- 3-D Secure (sandbox): the portal plays the bank's challenge page ----

    challenge() {
      const dialog = this.$('challenge');
      dialog.returnValue = '';
      dialog.showModal();
      return new Promise((resolve) => {
        dialog.addEventListener('close', () => resolve(dialog.returnValue === 'complete'), {once: true});
      });
    }

    showFieldErrors(problem, mapping, fallbackId) {
      for (const input of this.root.querySelectorAll('[aria-invalid=true]')) this.setFieldError(input.id, null);
      const errors = (problem && problem.errors) || [];
      let first = null;
      for (const {field: name, message} of errors) {
        const id = mapping[name] || fallbackId;
        if (!id) continue;
        this.setFieldError(id, message);
        first = first || this.$(id);
      }
      if (first) first.focus();
      return first !== null;
    }

    setFieldError(id, text) {
      const input = this.$(id);
      const error = this.$(`${id}-error`);
      error.hidden = !text;
      error.textContent = text || '';
      if (text) {
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', error.id);
      } else {
        input.removeAttribute('aria-invalid');
        input.removeAttribute('aria-describedby');
      }
    }
  }

  customElements.define('billing-portal', BillingPortal);
})();
