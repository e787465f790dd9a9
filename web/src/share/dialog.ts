/**
 * The "share / embed" dialog: the link that reproduces the current run (`share-link`), the
 * command line that prints the same digest, and an iframe snippet (`embed-snippet`) with
 * check boxes for the controls to hide and for autoplay. Its fields follow the run as it
 * changes, so what is copied is always the run on screen.
 */

import { el } from '../dom';
import type { ToyInfo } from '../generated/engine';
import type { Backend } from '../worker/protocol';
import { EXTRA_CONTROLS, shareUrls, type RunSpec } from './link';

/** The command that reruns `spec` natively: `papertoys run grokking --seed 7 --steps 30 --set p=23`. */
export function cliCommand(spec: RunSpec, toy: ToyInfo, backend: Backend): string {
  const parts = ['papertoys', 'run', toy.id, '--seed', String(spec.config.seed ?? 0)];
  if (backend === 'webgpu') parts.push('--backend', 'gpu');
  parts.push('--steps', String(spec.steps));
  for (const p of toy.params) {
    const v = spec.config[p.name];
    if (p.name !== 'seed' && v !== undefined && v !== toy.defaults[p.name]) parts.push('--set', `${p.name}=${v}`);
  }
  return parts.join(' ');
}

async function copy(text: string, button: HTMLButtonElement, field?: HTMLInputElement | HTMLTextAreaElement) {
  const old = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied ✓';
  } catch {
    // No clipboard permission (an iframe, plain http): select the text for ⌘C / Ctrl+C.
    field?.select();
    button.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => (button.textContent = old), 1600);
}

export class ShareDialog {
  readonly dialog: HTMLDialogElement;
  private link: HTMLInputElement;
  private snippet: HTMLTextAreaElement;
  private cli: HTMLElement;
  private cliHint = el('p', { class: 'hint' });
  private hide = new Set<string>();
  private autoplay = false;
  private state: { spec: RunSpec; backend: Backend } | null = null;

  constructor(private toy: ToyInfo, hidden: string[]) {
    hidden.forEach((h) => this.hide.add(h));
    this.link = el('input', { type: 'text', readonly: true, class: 'mono', testid: 'share-link', 'aria-label': 'link to this run', spellcheck: 'false' });
    this.snippet = el('textarea', { readonly: true, rows: 3, class: 'mono', testid: 'embed-snippet', 'aria-label': 'iframe snippet', spellcheck: 'false' });
    this.cli = el('code', { class: 'cli', testid: 'cli-command' });
    const copyLink = el('button', { type: 'button', testid: 'copy-link' }, 'Copy link');
    copyLink.addEventListener('click', () => copy(this.link.value, copyLink, this.link));
    const copySnippet = el('button', { type: 'button', testid: 'copy-embed' }, 'Copy snippet');
    copySnippet.addEventListener('click', () => copy(this.snippet.value, copySnippet, this.snippet));
    this.link.addEventListener('focus', () => this.link.select());
    this.snippet.addEventListener('focus', () => this.snippet.select());

    const hideBoxes = el('div', { class: 'hide-list' });
    for (const name of [...EXTRA_CONTROLS, ...toy.params.map((p) => p.name)]) {
      const box = el('input', { type: 'checkbox', value: name, checked: this.hide.has(name) });
      box.addEventListener('change', () => {
        if (box.checked) this.hide.add(name);
        else this.hide.delete(name);
        this.refresh();
      });
      hideBoxes.append(el('label', { class: 'check' }, box, el('code', {}, name)));
    }
    const auto = el('input', { type: 'checkbox' });
    auto.addEventListener('change', () => {
      this.autoplay = auto.checked;
      this.refresh();
    });
    const close = el('button', { type: 'button', class: 'close', 'aria-label': 'close' }, '×');

    this.dialog = el(
      'dialog',
      { class: 'share-dialog', 'aria-labelledby': 'share-title' },
      el('header', {}, el('h2', { id: 'share-title' }, 'Share / embed this run'), close),
      el('p', { class: 'hint' }, 'The link opens this exact run: the toy, its seed, the backend and every setting you changed. Press ▶ there to train it.'),
      el('div', { class: 'copy-row' }, this.link, copyLink),
      this.cliHint,
      this.cli,
      el('h3', {}, 'Embed in a page'),
      el('div', { class: 'copy-row' }, this.snippet, copySnippet),
      el('details', {}, el('summary', {}, 'Options: hide controls, autoplay'), el('p', { class: 'hint' }, 'Hide these controls in the embed:'), hideBoxes, el('label', { class: 'check' }, auto, 'start training when the page opens (autoplay)')),
    );
    close.addEventListener('click', () => this.dialog.close());
    // A click on the backdrop (outside the dialog's box) closes it too.
    this.dialog.addEventListener('click', (e) => e.target === this.dialog && this.dialog.close());
  }

  /** Follows the run on screen. */
  update(spec: RunSpec, backend: Backend) {
    this.state = { spec, backend };
    this.refresh();
  }

  open() {
    this.refresh();
    this.dialog.showModal();
  }

  private refresh() {
    if (!this.state) return;
    const { spec, backend } = this.state;
    const urls = shareUrls(spec, this.toy, backend, { hide: [...this.hide], autoplay: this.autoplay });
    this.link.value = urls.link;
    this.cli.textContent = cliCommand(spec, this.toy, backend);
    this.cliHint.textContent =
      backend === 'cpu'
        ? 'The same run from the command line; it prints the same run digest, bit for bit:'
        : 'The same run from the command line, on a native GPU (it matches the browser within float tolerance, not bit for bit):';
    // An attribute value in the snippet's HTML: & and " escaped (the crate's titles may hold either).
    const title = `papertoys: ${this.toy.title}`.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
    this.snippet.value = `<iframe src="${urls.embed}" title="${title}" width="100%" height="780" style="border:0; max-width:100%" loading="lazy"></iframe>`;
  }
}
