/**
 * The app shell: starts the engine, reads the link, and lays out the page around the toy
 * panel (playground.ts) — the site header, the toy's title and papers (the crate's), its text
 * (pages.ts), "what to try", "what differs from the paper" and the footer; or, with `embed=1`,
 * the toy panel alone under a one-line title. Keeps the address bar equal to the run on screen
 * (not in embeds).
 */

import './style.css';
import { el, prose, setMessage } from './dom';
import { Engine } from './engine';
import type { Paper } from './generated/engine';
import reproductions from './generated/reproductions.json';
import { pageFor, type ToyPage } from './pages';
import { Playground } from './playground';
import { decodeLink, encodeLink, queryString, type RunSpec } from './share/link';

const app = document.getElementById('app')!;

function header(): HTMLElement {
  return el(
    'header',
    { class: 'site-header' },
    el('div', { class: 'wrap' }, el('a', { class: 'brand', href: './' }, el('span', { class: 'logo', 'aria-hidden': 'true' }, '◆'), 'papertoys'), el('span', { class: 'tagline' }, 'machine-learning papers you can run in a tab')),
  );
}

function footer(): HTMLElement {
  return el(
    'footer',
    { class: 'site-footer' },
    el(
      'div',
      { class: 'wrap' },
      el('p', {}, 'Everything trains in your browser, on WebGPU when it is available and on the CPU (WebAssembly) otherwise; nothing is sent anywhere.'),
      el('p', {}, ...prose('A share link names the whole run — toy, seed, backend and settings — and on the CPU the command line `papertoys run` reproduces it bit for bit.')),
    ),
  );
}

function notes(page: ToyPage, pg: Playground): HTMLElement {
  const tries = el('ol', { class: 'try-list' });
  for (const item of page.tryThis) {
    const li = el('li', {}, el('span', {}, ...prose(item.text)));
    if (item.set || item.steps || item.newSeed || item.logX !== undefined) {
      const b = el('button', { type: 'button', class: 'small try-button' }, 'Try it');
      b.addEventListener('click', () => {
        pg.apply(item.set ?? {}, { steps: item.steps, newSeed: item.newSeed, logX: item.logX });
        pg.root.scrollIntoView({ behavior: 'smooth', block: 'start' });
      });
      li.append(' ', b);
    }
    tries.append(li);
  }
  const sections: HTMLElement[] = [];
  if (page.tryThis.length) sections.push(el('section', { class: 'note-card' }, el('h2', {}, 'What to try'), tries));
  if (page.differs.length) {
    sections.push(el('section', { class: 'note-card' }, el('h2', {}, 'What differs from the paper'), el('ul', {}, ...page.differs.map((d) => el('li', {}, ...prose(d))))));
  }
  return el('div', { class: 'notes' }, ...sections);
}

/** "Authors (year). Title.", the title linked to the paper. */
function citation(p: Paper): HTMLElement {
  return el('span', {}, `${p.authors} (${p.year}). `, el('a', { href: p.url, target: '_blank', rel: 'noopener' }, p.title), '.');
}

/** The paper the toy reproduces, then any others it draws on. */
/** How often the defaults show the claim, as `papertoys reproduce` last counted it. */
function seedCount(id: string): HTMLElement[] {
  const r = (reproductions as Record<string, { shown: number; seeds: number } | undefined>)[id];
  if (!r) return [];
  const how = r.shown === r.seeds ? `on every one of seeds 0–${r.seeds - 1}` : `on ${r.shown} of seeds 0–${r.seeds - 1}`;
  return [el('p', { class: 'seed-count', testid: 'seed-count' }, `With the defaults the claim shows ${how} (counted by papertoys reproduce).`)];
}

function papers(list: Paper[]): HTMLElement[] {
  const [first, ...others] = list;
  const out = first ? [el('p', { class: 'paper' }, 'Paper: ', citation(first))] : [];
  if (others.length) out.push(el('div', { class: 'paper' }, 'Also: ', el('ul', { class: 'paper-list' }, ...others.map((p) => el('li', {}, citation(p))))));
  return out;
}

async function boot() {
  const loading = el('div', { class: 'loading' }, el('div', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading the training engine…');
  const embedFlag = new URLSearchParams(location.search).get('embed');
  const embed = embedFlag === '1' || embedFlag === 'true' || embedFlag === '';
  document.body.classList.toggle('embed', embed);
  app.replaceChildren(...(embed ? [loading] : [header(), el('main', { class: 'wrap' }, loading), footer()]));

  const engine = new Engine();
  let toys;
  try {
    ({ toys } = await engine.ready);
  } catch (e) {
    const error = el('div', { class: 'error', testid: 'error', role: 'alert' });
    setMessage(error, `${e instanceof Error ? e.message : String(e)}. This page needs a browser with WebAssembly and module workers (a recent Chrome, Edge, Firefox or Safari).`);
    loading.replaceWith(error);
    return;
  }

  const link = decodeLink(location.search, toys);
  const toy = link.toy;
  const page = pageFor(toy);
  document.title = `${toy.title} · papertoys`;

  const fullPage = el('a', { class: 'open-full', target: '_blank', rel: 'noopener' }, 'open in papertoys ↗');
  const syncAddress = (s: RunSpec) => {
    const q = encodeLink(s, toy, s.backend);
    if (embed) {
      fullPage.href = `${location.origin}${location.pathname}?${queryString(q)}`;
      return;
    }
    if (link.view.hide.length) q.push(['hide', link.view.hide.join(',')]);
    history.replaceState(null, '', `?${queryString(q)}`);
  };
  const spec: RunSpec = { toy: toy.id, config: { ...toy.defaults }, backend: link.backend, steps: link.steps };
  const pg = new Playground({ engine, toy, spec, view: link.view, problems: link.problems, onSpec: syncAddress });

  if (embed) {
    loading.replaceWith(el('div', { class: 'embed-head' }, el('strong', {}, toy.title), fullPage), pg.root);
  } else {
    const intro = el(
      'section',
      { class: 'intro' },
      el('p', { class: 'kicker' }, 'Toy reproduction'),
      el('h1', {}, toy.title),
      el('p', { class: 'claim' }, ...prose(page.intro)),
      ...papers(toy.papers),
      ...seedCount(toy.id),
    );
    loading.replaceWith(el('article', { class: 'toy-page' }, intro, pg.root, notes(page, pg)));
  }
  // The link's settings go to the crate as written: it answers with the config in force.
  pg.start(link.changes, link.view.autoplay);
}

void boot();
