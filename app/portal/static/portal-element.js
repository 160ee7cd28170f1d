// <billing-portal>: the element itself (state, API calls, tabs, billing details); its card
// and invoice sections are mixed in from their own modules.

import {MUTATING, SESSION_EXPIRED, DETAIL_FIELDS, ApiError, idempotencyKey, el} from './portal-shared.js';
import {STYLE, TEMPLATE} from './portal-view.js';
import {CardMethods} from './portal-cards.js';
import {InvoiceMethods} from './portal-invoices.js';

export class BillingPortal extends InvoiceMethods(CardMethods(HTMLElement)) {
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
