/**
 * A tiny element builder. Text always goes in as text nodes (`textContent`), never as HTML:
 * values from a link or an input cannot inject markup anywhere on the page.
 */

type Attrs = Record<string, string | number | boolean | undefined>;
type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') e.className = String(v);
    else if (k === 'testid') e.dataset.testid = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/**
 * Our own prose with `code` spans marked by backticks, as nodes (a few lines of a markdown
 * subset, so the page text in toys/*.ts stays readable and is still never parsed as HTML).
 */
export function prose(text: string): Node[] {
  return text.split('`').map((part, i) => (i % 2 === 1 ? el('code', {}, part) : document.createTextNode(part)));
}

/** Shows `node` with `text`, or hides it when `text` is empty. */
export function setMessage(node: HTMLElement, text: string) {
  node.textContent = text;
  node.hidden = text === '';
}

/** Downloads `data` as a file named `name`. */
export function download(name: string, data: Blob) {
  const url = URL.createObjectURL(data);
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
