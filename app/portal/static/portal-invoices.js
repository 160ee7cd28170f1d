// <billing-portal>'s Invoices tab: the list, its project filter, PDF download, paying
// and the bank's challenge.

import {PAYABLE, ApiError, el, money, day} from './portal-shared.js';

export const InvoiceMethods = (Base) => class extends Base {
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
};
