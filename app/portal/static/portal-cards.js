// <billing-portal>'s Payment method section: the card list, its menus, adding a card
// (sandbox or Stripe.js, 3-D Secure included).

import {AUTHENTICATION_FAILED, PRIMARY_NOT_REMOVABLE, CARD_FIELDS, ApiError, el, brand, cardName, loadStripeJs} from './portal-shared.js';

export const CardMethods = (Base) => class extends Base {
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

};
