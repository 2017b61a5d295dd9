// A signing secret's card: reveal, hide and copy it, and rotate it when
// the resource can. Webhooks and notification subscriptions both sign
// with one.

import { confirmDialog, h } from './dom.js';

// secretCard fills card with the secret that load() reads; rotate(), when
// given, makes a new one (after a confirmation) and returns it. alive()
// tells whether the page is still shown.
export function secretCard(card, { headingID, hint, load, rotate = null, alive }) {
  let revealed = null;
  const value = h('code', { class: 'secret', hidden: true });
  const reveal = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, 'Reveal');
  const copy = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Copy');
  const result = h('p', { class: 'hint', 'aria-live': 'polite' });
  const show = (secret) => {
    revealed = secret;
    value.textContent = secret;
    value.hidden = false;
    copy.hidden = false;
    reveal.textContent = 'Hide';
    reveal.setAttribute('aria-expanded', 'true');
  };
  reveal.addEventListener('click', async () => {
    if (revealed) {
      revealed = null;
      value.hidden = true;
      value.textContent = '';
      copy.hidden = true;
      reveal.textContent = 'Reveal';
      reveal.setAttribute('aria-expanded', 'false');
      return;
    }
    try {
      show(await load());
      result.textContent = '';
    } catch (err) {
      if (err.status !== 401) result.textContent = `Could not read the secret: ${err.message}`;
    }
  });
  copy.addEventListener('click', () => copyText(revealed, value, result));
  let rotateButton = null;
  if (rotate) {
    rotateButton = h('button', { type: 'button', class: 'secondary' }, 'Rotate');
    rotateButton.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: 'Rotate the signing secret?',
        text: 'hookd signs with a new secret from now on. The current secret keeps signing beside it for 24 hours, so receivers can switch without missing a delivery.',
        action: 'Rotate secret',
      });
      if (!ok || !alive()) return;
      try {
        show(await rotate());
        result.textContent = 'Rotated. Deliveries carry both signatures for the next 24 hours.';
        reveal.focus();
      } catch (err) {
        if (err.status !== 401) result.textContent = `Could not rotate the secret: ${err.message}`;
      }
    });
  }
  card.replaceChildren(
    h('h2', { id: headingID }, 'Signing secret'),
    h('p', { class: 'hint' }, hint),
    h('div', { class: 'actions' }, reveal, copy, rotateButton),
    value, result);
}

// copyText puts text on the clipboard, or, where the page may not (no
// secure context), selects el's text for the reader to copy; it says which
// in result.
export async function copyText(text, el, result) {
  try {
    await navigator.clipboard.writeText(text);
    result.textContent = 'Copied to the clipboard.';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(el);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    result.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
  }
}
