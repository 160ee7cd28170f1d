// <billing-portal>'s shadow-root markup and styles (theme with the --billing-portal-* properties).

export const STYLE = `
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

export const TEMPLATE = `
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
