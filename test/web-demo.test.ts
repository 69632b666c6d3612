// Owns: the web demo's end-to-end test (issue 6, item 5). Headless Chromium (Debian's, through
// playwright-core) opens web/ from scripts/serve-web.mjs, waits for the tiny encoders to load,
// types the model card's example, presses Score and checks the three scores printed on the page
// against tiny-golden.json's seed_similarity_f64 (1e-5), then saves test-results/web-demo.png.
// It also loads the same encoders through the folder pickers (<input webkitdirectory>), indexes and
// searches the card's passages as a corpus (in the page's worker), and loads them by hub id from
// test/helpers/hub-server.ts: downloaded with progress the first time, from the browser's Cache API
// the second (no file requested again).
// Does not own: the page (web/) or the library's own parity tests.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../scripts/serve-web.mjs';
import { repoFromFolder, startHubServer } from './helpers/hub-server.js';
import { FIXTURES, launchChromium, REPO_ROOT } from './runtimes/launch.js';
import { chromium, skipWithout } from './helpers/requirement.js';

const SIMILARITY_TOLERANCE = 1e-5;
const SCREENSHOT = join(REPO_ROOT, 'test-results', 'web-demo.png');

const golden = JSON.parse(readFileSync(join(FIXTURES, 'tiny-golden.json'), 'utf8')) as {
  texts: string[];
  seed_similarity_f64: number[];
};
const QUERY = golden.texts[0];
const NOTES = golden.texts.slice(1, 4);

type Page = Awaited<ReturnType<Awaited<ReturnType<typeof launchChromium>>['newPage']>>;

describe.skipIf(skipWithout(chromium()))('web demo in Chromium', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Awaited<ReturnType<typeof launchChromium>>;

  beforeAll(async () => {
    for (const built of ['dist/index.js', 'dist/kernels/kernels.wasm']) {
      if (!existsSync(join(REPO_ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
    }
    server = await startServer();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openDemo(before?: (page: Page) => Promise<void>, viewport = { width: 1100, height: 900 }): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport });
    await before?.(page);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    await page.goto(`${server.url}/web/`);
    return { page, errors };
  }

  async function waitLoaded(page: Page, errors: string[]): Promise<void> {
    try {
      await page.waitForSelector('body[data-state="ready"]', { timeout: 60_000 });
    } catch (error) {
      const info = await page.textContent('#model-info');
      throw new Error(`encoders did not load: ${info}\n${errors.join('\n')}`, { cause: error });
    }
  }

  /** Types the card's example into the page and returns the scores it prints. */
  async function scoreExample(page: Page): Promise<number[]> {
    await page.fill('#question', '');
    await page.type('#question', QUERY);
    // Exactly three passage boxes, whatever the page started with.
    while ((await page.locator('#passages textarea').count()) < NOTES.length) await page.click('#add-passage');
    while ((await page.locator('#passages textarea').count()) > NOTES.length) {
      await page.locator('#passages .remove').last().click();
    }
    for (let i = 0; i < NOTES.length; i++) {
      const box = page.locator('#passages textarea').nth(i);
      await box.fill('');
      await box.type(NOTES[i]);
    }
    const before = Number((await page.getAttribute('body', 'data-scored')) ?? 0);
    await page.click('#score');
    await page.waitForFunction((n) => Number(document.body.dataset.scored ?? 0) > n, before, { timeout: 30_000 });
    const cells = await page.locator('#results td.score').allTextContents();
    return cells.map(Number);
  }

  function expectScores(scores: number[]): void {
    expect(scores).toHaveLength(3);
    scores.forEach((s, i) => {
      const err = Math.abs(s - golden.seed_similarity_f64[i]);
      expect(err, `score ${i + 1}: page ${s}, golden ${golden.seed_similarity_f64[i]}`).toBeLessThanOrEqual(
        SIMILARITY_TOLERANCE,
      );
    });
  }

  it('loads the tiny encoders, scores the card example, and saves a screenshot', async () => {
    // Hold the context weights back until the progress indicator has been seen mid-load (an
    // event, not a fixed delay that a slow machine could outlast).
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const { page, errors } = await openDemo(async (p) => {
      await p.route('**/tiny-context/model.safetensors', async (route) => {
        if (route.request().method() === 'GET') await held;
        await route.continue();
      });
    });
    try {
      await page.waitForFunction(
        () => /tiny-context\/model\.safetensors/.test(document.getElementById('progress-text')?.textContent ?? ''),
        null,
        { timeout: 120_000 },
      );
      expect(await page.isVisible('#progress')).toBe(true);
      expect(await page.textContent('#progress-text')).toMatch(/Reading .*tiny-context\/model\.safetensors — [\d.]+ MiB of 6\.5 MiB/);
    } finally {
      release();
    }
    await waitLoaded(page, errors);
    expect(await page.isHidden('#progress-box')).toBe(true);
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
    const scores = await scoreExample(page);
    console.log(
      'web demo scores (page vs golden):\n' +
        scores.map((s, i) => `  ${i + 1}: ${s.toFixed(6)}  ${golden.seed_similarity_f64[i].toFixed(6)}`).join('\n'),
    );
    expectScores(scores);
    const info = (await page.textContent('#model-info')) ?? '';
    expect(info).toMatch(/Loaded tiny-question \+ tiny-context/);
    // The thread count picked on the page is the one the encoders run with (cross-origin isolated).
    const picked = Number(await page.inputValue('#threads'));
    expect(info).toContain(`· ${picked} thread${picked === 1 ? '' : 's'}`);
    expect(info).not.toMatch(/asked for/);
    console.log(`model info: ${info}`);
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`screenshot: ${SCREENSHOT}`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('at 390 px wide (a phone) nothing overflows sideways and the scores table keeps every column readable', async () => {
    const { page, errors } = await openDemo(undefined, { width: 390, height: 844 });
    await waitLoaded(page, errors);
    expectScores(await scoreExample(page));
    const layout = await page.evaluate(() => {
      const box = (el: Element | null) => el?.getBoundingClientRect() ?? { left: NaN, right: NaN, width: NaN };
      const wide = [...document.querySelectorAll('body *')]
        .filter((el) => (el as HTMLElement).offsetParent !== null && el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
        .map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className ? '.' + String(el.className).split(' ').join('.') : ''} (right ${Math.round(el.getBoundingClientRect().right)})`);
      const card = document.getElementById('results-card')!;
      const cardStyle = getComputedStyle(card);
      const cardInner = box(card).right - parseFloat(cardStyle.paddingRight) - parseFloat(cardStyle.borderRightWidth);
      const row = document.querySelector('#results tbody tr')!;
      const cells = [...row.querySelectorAll('td')].map((td) => ({ cls: td.className, width: td.getBoundingClientRect().width, clipped: td.scrollWidth > td.clientWidth + 1 }));
      const text = row.querySelector('.passage-text') as HTMLElement;
      return {
        viewport: document.documentElement.clientWidth,
        scrollWidth: document.documentElement.scrollWidth,
        wide,
        tableRight: box(document.getElementById('results')).right,
        cardInner,
        cells,
        passageTextWidth: text.getBoundingClientRect().width,
        passageTextShown: text.textContent!.length > 0 && text.getBoundingClientRect().height > 0,
      };
    });
    console.log(`390 px layout: ${JSON.stringify(layout)}`);
    expect(layout.viewport).toBe(390);
    expect(layout.scrollWidth, 'the page scrolls sideways').toBeLessThanOrEqual(layout.viewport);
    expect(layout.wide, 'elements past the right edge').toEqual([]);
    expect(layout.tableRight).toBeLessThanOrEqual(layout.cardInner + 0.5);
    const [index, passage, score, bar] = layout.cells;
    expect(passage.width, 'the passage column').toBeGreaterThanOrEqual(120);
    expect(layout.passageTextWidth).toBeGreaterThanOrEqual(100);
    expect(layout.passageTextShown).toBe(true);
    expect(score.clipped, 'the score is cut').toBe(false);
    expect(score.width).toBeGreaterThanOrEqual(56);
    expect(index.clipped, 'the rank is cut').toBe(false);
    expect(bar.width, 'the bar column').toBeGreaterThanOrEqual(32);
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, 'test-results', 'web-demo-390.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('indexes a pasted corpus in the worker with a progress bar and searches it', async () => {
    const { page, errors } = await openDemo();
    await waitLoaded(page, errors);
    await page.click('#corpus-example');
    await page.click('#index');
    await page.waitForSelector('body[data-indexed="3"]', { timeout: 30_000 });
    expect(await page.textContent('#index-info')).toMatch(/Indexed 3 passages/);
    await page.click('#search');
    await page.waitForSelector('body[data-searched="1"]', { timeout: 30_000 });
    const hits = await page.locator('#search-results li').evaluateAll((lis) =>
      lis.map((li) => ({ id: (li as HTMLElement).dataset.id, score: Number(li.querySelector('.hit-score')?.textContent) })),
    );
    // Best first, ids 1..3 in the order of the golden similarities.
    const order = golden.seed_similarity_f64.map((s, i) => ({ id: String(i + 1), s })).sort((a, b) => b.s - a.s);
    expect(hits.map((h) => h.id)).toEqual(order.map((o) => o.id));
    hits.forEach((h, i) => expect(Math.abs(h.score - order[i].s)).toBeLessThanOrEqual(SIMILARITY_TOLERANCE));
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, 'test-results', 'web-demo-search.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('loads by hub id with download progress, and from the Cache API on the second visit', async () => {
    const names = ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.json', 'model.safetensors'];
    const ids = { question: 'kmed-test/tiny-question', context: 'kmed-test/tiny-context' };
    const hub = await startHubServer({
      repos: { [ids.question]: repoFromFolder(join(FIXTURES, 'tiny-question'), names), [ids.context]: repoFromFolder(join(FIXTURES, 'tiny-context'), names) },
      staticRoot: REPO_ROOT,
    });
    // One browser context (one Cache API) for both visits. The hub server sends no COOP/COEP: one thread.
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    try {
      const visit = async () => {
        hub.reset();
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
        const seen: string[] = [];
        await page.exposeFunction('kmedSawProgress', (t: string) => seen.push(t));
        await page.addInitScript(() => {
          new MutationObserver(() => (window as unknown as { kmedSawProgress(t: string): void }).kmedSawProgress(document.getElementById('progress-text')?.textContent ?? '')).observe(document, { subtree: true, characterData: true, childList: true });
        });
        await page.goto(`${hub.url}/static/web/index.html?source=hub&endpoint=${encodeURIComponent(hub.url)}&question=${ids.question}&context=${ids.context}`);
        await waitLoaded(page, errors);
        const info = (await page.textContent('#model-info')) ?? '';
        const files = hub.hubRequests().filter((e) => e.path.includes('/resolve/'));
        const scores = await scoreExample(page);
        return { page, info, files, seen, scores, cached: await page.getAttribute('body', 'data-cached'), errors };
      };
      const first = await visit();
      console.log(`hub, first visit: ${first.info}; ${first.files.length} file request(s)`);
      expect(first.cached).toBe('false');
      expect(first.files.length).toBeGreaterThanOrEqual(2);
      expect(first.seen.some((t) => /Downloading kmed-test\/tiny-(question|context)\/model\.safetensors/.test(t))).toBe(true);
      expectScores(first.scores);
      await first.page.close();
      const second = await visit();
      console.log(`hub, second visit: ${second.info}; ${second.files.length} file request(s), ${hub.hubRequests().length} hub request(s) in all`);
      expect(second.cached).toBe('true');
      expect(second.files).toEqual([]);
      expect(second.info).toMatch(/from this browser’s cache, nothing downloaded/);
      expectScores(second.scores);
      expect([...first.errors, ...second.errors]).toEqual([]);
      await second.page.close();
    } finally {
      await context.close();
      await hub.close();
    }
  });

  it('loads encoders from folders picked with <input webkitdirectory>', async () => {
    const { page, errors } = await openDemo();
    await waitLoaded(page, errors);
    await page.setInputFiles('#question-dir', join(FIXTURES, 'tiny-question'));
    await page.setInputFiles('#context-dir', join(FIXTURES, 'tiny-context'));
    await page.evaluate(() => document.body.removeAttribute('data-state'));
    await page.click('#load');
    await waitLoaded(page, errors);
    expect(await page.textContent('#model-info')).toMatch(/Loaded tiny-question \+ tiny-context .*read/);
    expectScores(await scoreExample(page));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('names the missing file when a picked folder is not a model', async () => {
    const { page, errors } = await openDemo();
    await waitLoaded(page, errors);
    await page.setInputFiles('#question-dir', join(FIXTURES, 'corpus'));
    await page.setInputFiles('#context-dir', join(FIXTURES, 'tiny-context'));
    await page.click('#load');
    await page.waitForSelector('body[data-state="error"]', { timeout: 30_000 });
    expect(await page.textContent('#model-info')).toMatch(/question folder "corpus" has no config\.json/);
    await page.close();
  });
});
