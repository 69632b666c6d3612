// Owns: the web demo's behaviour. It loads the two encoders into a worker (kmed-dpr/worker's
// WorkerBiEncoder, so the page never blocks) from the Hugging Face hub by id (progress, kept in the
// Cache API for the next visit), or from bytes the page gets itself (the tiny fixtures over fetch,
// or two folders the person picks), then scores passages against a question, and indexes and
// searches a pasted or dropped corpus (txt / jsonl) with a progress bar.
// Does not own: any model code (it imports the library's worker entry from dist/, exactly what a
// browser gets from the package's exports map) or the server (scripts/serve-web.mjs).
import * as kmed from '../dist/worker/index.js';

const $ = (id) => document.getElementById(id);
const TINY = { question: '../test/fixtures/tiny-question/', context: '../test/fixtures/tiny-context/' };
/** EncoderFiles key → file name in a Hugging Face model folder. */
const FILES = {
  config: { name: 'config.json', required: true, text: true },
  vocab: { name: 'vocab.txt', required: true, text: true },
  tokenizerConfig: { name: 'tokenizer_config.json', required: false, text: true },
  specialTokensMap: { name: 'special_tokens_map.json', required: false, text: true },
  tokenizerJson: { name: 'tokenizer.json', required: false, text: true },
  weights: { name: 'model.safetensors', required: true, text: false },
};
const EXAMPLE = kmed.MODEL_CARD_EXAMPLE;

let biEncoder = null;
let loadedLabel = '';
let searchIndex = null;
const params = new URLSearchParams(location.search);

// ---------- passages editor ----------

function addPassage(text = '') {
  const node = $('passage-template').content.firstElementChild.cloneNode(true);
  node.querySelector('textarea').value = text;
  node.querySelector('.remove').addEventListener('click', () => {
    node.remove();
    renumber();
  });
  $('passages').append(node);
  renumber();
  return node;
}

function renumber() {
  const rows = [...$('passages').querySelectorAll('.passage')];
  rows.forEach((row, i) => {
    const id = `passage-${i + 1}`;
    row.querySelector('textarea').id = id;
    const label = row.querySelector('label');
    label.htmlFor = id;
    label.textContent = `Passage ${i + 1}`;
    row.querySelector('.remove').disabled = rows.length === 1;
  });
}

function fillExample() {
  $('question').value = EXAMPLE.query;
  $('passages').replaceChildren();
  for (const p of EXAMPLE.passages) addPassage(p);
}

// ---------- threads ----------

function setupThreads() {
  const select = $('threads');
  const isolated = globalThis.crossOriginIsolated === true;
  const cores = navigator.hardwareConcurrency || 1;
  const counts = isolated ? [1, 2, 4, 8].filter((n) => n === 1 || n <= cores) : [1];
  select.replaceChildren(...counts.map((n) => new Option(String(n), String(n))));
  // Default to the most threads the page can use: encoding is the slow part.
  select.value = String(counts[counts.length - 1]);
  select.title = isolated
    ? `This page is cross-origin isolated: workers can share the model's memory (${cores} cores).`
    : 'This page is not cross-origin isolated (no COOP/COEP headers), so it runs on one thread.';
}

// ---------- reading files with progress ----------

/** Reads `total` bytes from a stream into one buffer, reporting every chunk. */
async function readStream(stream, total, onBytes) {
  const reader = stream.getReader();
  let buffer = new Uint8Array(total || 1 << 20);
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (length + value.length > buffer.length) {
      // Unknown or wrong Content-Length: grow geometrically.
      const bigger = new Uint8Array(Math.max(buffer.length * 2, length + value.length));
      bigger.set(buffer.subarray(0, length));
      buffer = bigger;
    }
    buffer.set(value, length);
    length += value.length;
    onBytes(value.length);
  }
  return length === buffer.length ? buffer : buffer.slice(0, length);
}

/** A source is a list of {key, label, size, open() → Promise<{stream, size}>} items for one model. */
async function tinySource(base) {
  const items = [];
  for (const [key, spec] of Object.entries(FILES)) {
    const url = new URL(base + spec.name, location.href);
    const head = await fetch(url, { method: 'HEAD' });
    if (!head.ok) {
      if (spec.required) throw new Error(`${url.pathname}: HTTP ${head.status}`);
      continue;
    }
    items.push({
      key,
      label: url.pathname,
      size: Number(head.headers.get('Content-Length')) || 0,
      open: async () => {
        const response = await fetch(url);
        if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status}`);
        return response.body;
      },
    });
  }
  return items;
}

function folderSource(fileList, role) {
  const files = [...fileList];
  if (files.length === 0) throw new Error(`choose the ${role} encoder's folder first`);
  // webkitRelativePath is "picked-folder/name" for files at the top of the picked folder.
  const top = new Map();
  for (const f of files) {
    const parts = (f.webkitRelativePath || f.name).split('/');
    if (parts.length <= 2) top.set(parts[parts.length - 1], f);
  }
  const folder = (files[0].webkitRelativePath || '').split('/')[0] || role;
  const items = [];
  for (const [key, spec] of Object.entries(FILES)) {
    const file = top.get(spec.name);
    if (!file) {
      if (spec.required) throw new Error(`the ${role} folder "${folder}" has no ${spec.name}`);
      continue;
    }
    items.push({ key, label: `${folder}/${spec.name}`, size: file.size, open: async () => file.stream() });
  }
  return { items, folder };
}

async function readModel(items, progress) {
  const files = {};
  for (const item of items) {
    progress.file(item.label);
    const bytes = await readStream(await item.open(), item.size, progress.bytes);
    // Text files go in as strings, the weights as bytes: fromFiles takes either.
    files[item.key] = FILES[item.key].text ? new TextDecoder().decode(bytes) : bytes;
  }
  return files;
}

// ---------- loading ----------

function progressReporter(totalBytes) {
  const bar = $('progress');
  const text = $('progress-text');
  let done = 0;
  let current = '';
  const show = () => {
    bar.max = totalBytes || 1;
    bar.value = done;
    text.textContent = `${current} — ${formatBytes(done)} of ${formatBytes(totalBytes)}`;
  };
  return {
    file(label) {
      current = `Reading ${label}`;
      show();
    },
    bytes(n) {
      done += n;
      show();
    },
    stage(label) {
      bar.removeAttribute('value'); // indeterminate while the encoders are built
      text.textContent = label;
    },
  };
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Progress of a hub load, from fromPretrained's events (both repos, one after the other). */
function hubProgress() {
  const bar = $('progress');
  const text = $('progress-text');
  const totals = new Map();
  const done = new Map();
  let fromCache = true;
  const show = (label) => {
    const total = [...totals.values()].reduce((a, b) => a + b, 0);
    const got = [...done.values()].reduce((a, b) => a + b, 0);
    bar.max = total || 1;
    bar.value = got;
    text.textContent = `${label} — ${formatBytes(got)} of ${formatBytes(total)}`;
  };
  return {
    get fromCache() {
      return fromCache;
    },
    total: () => [...totals.values()].reduce((a, b) => a + b, 0),
    onProgress(e) {
      if (e.type === 'files') {
        totals.set(e.repo, e.totalBytes);
        done.set(e.repo, e.cachedBytes);
        if (e.cachedBytes < e.totalBytes) fromCache = false;
        show(`${e.repo}: ${e.source === 'hub' ? 'checked the hub' : 'from this browser’s cache'}`);
      } else if (e.type === 'download') {
        done.set(e.repo, e.bytes);
        show(`Downloading ${e.repo}/${e.file}`);
      } else if (e.type === 'verified') {
        show(`Verified ${e.repo}/${e.file}`);
      } else if (e.type === 'loaded') {
        show(`Loaded ${e.repo}`);
      } else if (e.type === 'cache-failed') {
        // The load goes on from memory; the next visit downloads again.
        show(`This browser would not keep the model (${e.reason}); it loads from memory and downloads again next time`);
      }
    },
  };
}

async function load() {
  const source = document.querySelector('input[name=source]:checked').value;
  const useFolders = source === 'folders';
  setBusy(true);
  $('progress-box').hidden = false;
  $('model-info').classList.remove('error');
  $('model-info').textContent = 'Loading…';
  const started = performance.now();
  try {
    biEncoder?.dispose();
    biEncoder = null;
    searchIndex = null;
    const threads = Number($('threads').value) || 1;
    if (source === 'hub') {
      const ids = { question: $('hub-question').value.trim(), context: $('hub-context').value.trim() };
      const progress = hubProgress();
      biEncoder = await kmed.WorkerBiEncoder.fromPretrained(ids, { threads, endpoint: $('hub-endpoint').value.trim() || undefined, onProgress: progress.onProgress });
      const ran = biEncoder.threads;
      loadedLabel = `${ids.question} + ${ids.context}`;
      $('model-info').textContent =
        `Loaded ${loadedLabel} in ${((performance.now() - started) / 1000).toFixed(2)} s — ` +
        `${progress.fromCache ? 'from this browser’s cache, nothing downloaded' : `${formatBytes(progress.total())} from the hub, kept for the next visit`}` +
        ` · ${ran} thread${ran === 1 ? '' : 's'}` + isolationNote(ran, threads);
      document.body.dataset.state = 'ready';
      document.body.dataset.cached = String(progress.fromCache);
      return;
    }
    let question;
    let context;
    let names;
    if (useFolders) {
      question = folderSource($('question-dir').files, 'question');
      context = folderSource($('context-dir').files, 'context');
      names = { question: question.folder, context: context.folder };
      question = question.items;
      context = context.items;
    } else {
      question = await tinySource(TINY.question);
      context = await tinySource(TINY.context);
      names = { question: 'tiny-question', context: 'tiny-context' };
    }
    const total = [...question, ...context].reduce((sum, item) => sum + item.size, 0);
    const progress = progressReporter(total);
    const files = { question: await readModel(question, progress), context: await readModel(context, progress) };
    progress.stage('Building the encoders in the worker (weights into WebAssembly memory)…');
    // The weights' buffers move to the worker (no copy); the page stays responsive meanwhile.
    biEncoder = await kmed.WorkerBiEncoder.fromFiles(files, { names, threads });
    const ran = biEncoder.threads;
    loadedLabel = `${names.question} + ${names.context}`;
    $('model-info').textContent =
      `Loaded ${loadedLabel} in ${((performance.now() - started) / 1000).toFixed(2)} s — ` +
      `hidden ${biEncoder.dimension}, ` +
      `${formatBytes(total)} read · ${ran} thread${ran === 1 ? '' : 's'}` + isolationNote(ran, threads);
    document.body.dataset.state = 'ready';
  } catch (error) {
    console.error(error);
    $('model-info').textContent = `Could not load the encoders: ${error.message}`;
    $('model-info').classList.add('error');
    document.body.dataset.state = 'error';
  } finally {
    $('progress-box').hidden = true;
    setBusy(false);
  }
}

/** Why fewer threads than asked: the page's isolation first (the usual cause in a browser). */
function isolationNote(ran, asked) {
  if (!globalThis.crossOriginIsolated) return ' (page not cross-origin isolated: serve it with COOP/COEP for threads)';
  return ran < asked ? ` (asked for ${asked}; ran ${ran})` : '';
}

function setBusy(busy) {
  $('load').disabled = busy;
  $('score').disabled = busy || biEncoder === null;
  $('index').disabled = busy || biEncoder === null;
  $('search').disabled = busy || searchIndex === null;
}

// ---------- corpus: paste or drop, index in the worker, search ----------

/** Passages of a corpus text: jsonl ({"id"?, "text"} per line) when every line is JSON, else one per line. */
function parseCorpus(text) {
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  const jsonl = lines.length > 0 && lines.every((l) => l.trim().startsWith('{'));
  return lines.map((line, i) => {
    if (!jsonl) return { id: String(i + 1), text: line.trim() };
    let row;
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new Error(`line ${i + 1} is not JSON: ${error.message}`);
    }
    if (typeof row.text !== 'string' || !row.text.trim()) throw new Error(`line ${i + 1} has no "text" string`);
    return { id: row.id === undefined ? String(i + 1) : String(row.id), text: row.text };
  });
}

async function indexCorpus() {
  const info = $('index-info');
  info.classList.remove('error');
  searchIndex = null;
  setBusy(true);
  const box = $('index-progress-box');
  try {
    const passages = parseCorpus($('corpus').value);
    if (passages.length === 0) throw new Error('the corpus is empty: paste passages or drop a file');
    box.hidden = false;
    const started = performance.now();
    const vectors = [];
    const BATCH = 8;
    for (let i = 0; i < passages.length; i += BATCH) {
      $('index-progress').max = passages.length;
      $('index-progress').value = i;
      $('index-progress-text').textContent = `Encoding passages ${i + 1}–${Math.min(i + BATCH, passages.length)} of ${passages.length} in the worker`;
      vectors.push(...(await biEncoder.encodePassages(passages.slice(i, i + BATCH).map((p) => p.text))));
    }
    const bytes = kmed.serializeIndex({
      meta: await biEncoder.indexMeta(), dimension: biEncoder.dimension, vectors,
      ids: passages.map((p) => p.id), texts: passages.map((p) => p.text),
    });
    const size = bytes.length; // openIndex moves the buffer to the worker
    searchIndex = await biEncoder.openIndex(bytes);
    info.textContent = `Indexed ${passages.length} passage${passages.length === 1 ? '' : 's'} in ${((performance.now() - started) / 1000).toFixed(2)} s (${formatBytes(size)} index).`;
    document.body.dataset.indexed = String(passages.length);
  } catch (error) {
    console.error(error);
    info.textContent = `Could not index: ${error.message}`;
    info.classList.add('error');
  } finally {
    box.hidden = true;
    setBusy(false);
  }
}

async function search() {
  const query = $('search-query').value.trim();
  const list = $('search-results');
  if (!query || !searchIndex) return;
  $('search').disabled = true;
  try {
    const hits = await biEncoder.search(query, searchIndex, 5);
    list.replaceChildren(
      ...hits.map((h) => {
        const li = document.createElement('li');
        const score = document.createElement('span');
        score.className = 'hit-score';
        score.textContent = h.score.toFixed(6);
        li.append(score, document.createTextNode(h.text));
        li.dataset.id = h.id;
        return li;
      }),
    );
    document.body.dataset.searched = String(Number(document.body.dataset.searched ?? 0) + 1);
  } catch (error) {
    console.error(error);
    list.replaceChildren(Object.assign(document.createElement('li'), { textContent: `Search failed: ${error.message}` }));
  } finally {
    $('search').disabled = false;
  }
}

async function readCorpusFile(file) {
  if (!file) return;
  $('corpus').value = await file.text();
}

// ---------- scoring ----------

async function score() {
  const query = $('question').value.trim();
  const passages = [...$('passages').querySelectorAll('textarea')].map((t) => t.value);
  const tbody = $('results').tBodies[0];
  if (!query || passages.every((p) => !p.trim())) {
    tbody.replaceChildren(emptyRow('Type a question and at least one passage.'));
    return;
  }
  $('score').disabled = true;
  try {
    const started = performance.now();
    const [scores] = await biEncoder.score([query], passages);
    const ms = performance.now() - started;
    const best = scores.indexOf(Math.max(...scores));
    // Bars are relative to the largest |score| shown, so small cosines still compare at a glance.
    const scale = Math.max(...scores.map(Math.abs)) || 1;
    tbody.replaceChildren(...passages.map((text, i) => resultRow(i, text, scores[i], i === best, scale)));
    $('timing').textContent =
      `${passages.length + 1} texts embedded and scored in ${ms.toFixed(1)} ms with ${loadedLabel}.`;
    document.body.dataset.scored = String(Number(document.body.dataset.scored ?? 0) + 1);
  } catch (error) {
    console.error(error);
    tbody.replaceChildren(emptyRow(`Scoring failed: ${error.message}`));
  } finally {
    $('score').disabled = false;
  }
}

function emptyRow(message) {
  const tr = document.createElement('tr');
  tr.className = 'empty';
  const td = tr.insertCell();
  td.colSpan = 4;
  td.textContent = message;
  return tr;
}

function resultRow(i, text, value, best, scale) {
  const tr = document.createElement('tr');
  if (best) tr.className = 'best';
  tr.insertCell().textContent = String(i + 1);
  tr.cells[0].className = 'num';
  const passage = tr.insertCell();
  passage.className = 'passage-text';
  passage.textContent = text.replace(/\s+/g, ' ').trim();
  passage.title = text;
  const cell = tr.insertCell();
  cell.className = 'num score';
  cell.dataset.index = String(i);
  // Six decimals: the tests compare with float64 references to 1e-5.
  cell.textContent = value.toFixed(6);
  const barCell = tr.insertCell();
  barCell.className = 'bar-col';
  const bar = document.createElement('div');
  bar.className = value < 0 ? 'bar negative' : 'bar';
  bar.style.width = `${Math.min(100, (Math.abs(value) / scale) * 100).toFixed(1)}%`;
  bar.title = value < 0 ? 'negative cosine' : '';
  barCell.append(bar);
  return tr;
}

// ---------- wiring ----------

for (const radio of document.querySelectorAll('input[name=source]')) {
  radio.addEventListener('change', () => {
    $('pickers').classList.toggle('active', radio.value === 'folders' && radio.checked);
    $('hub-fields').classList.toggle('active', radio.value === 'hub' && radio.checked);
  });
}
for (const id of ['question-dir', 'context-dir']) {
  $(id).addEventListener('change', () => {
    document.querySelector('input[name=source][value=folders]').checked = true;
    $('pickers').classList.add('active');
  });
}
$('load').addEventListener('click', load);
$('index').addEventListener('click', indexCorpus);
$('search').addEventListener('click', search);
$('search-query').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !$('search').disabled) search();
});
$('corpus-example').addEventListener('click', () => {
  // The card's passages span several lines each: as jsonl, one passage per line.
  $('corpus').value = EXAMPLE.passages.map((text, i) => JSON.stringify({ id: String(i + 1), text })).join('\n');
  $('search-query').value = EXAMPLE.query;
});
$('corpus-file').addEventListener('change', (e) => readCorpusFile(e.target.files[0]));
$('corpus').addEventListener('dragover', (e) => {
  e.preventDefault();
  $('corpus').classList.add('drop');
});
$('corpus').addEventListener('dragleave', () => $('corpus').classList.remove('drop'));
$('corpus').addEventListener('drop', (e) => {
  e.preventDefault();
  $('corpus').classList.remove('drop');
  readCorpusFile(e.dataTransfer.files[0]);
});
$('score').addEventListener('click', score);
$('add-passage').addEventListener('click', () => addPassage().querySelector('textarea').focus());
$('example').addEventListener('click', fillExample);
$('question').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !$('score').disabled) score();
});

setupThreads();
fillExample();
// ?source=hub&question=…&context=…&endpoint=… preselects a hub load (and starts it).
if (params.get('source') === 'hub') {
  document.querySelector('input[name=source][value=hub]').checked = true;
  $('hub-fields').classList.add('active');
  for (const key of ['question', 'context', 'endpoint']) if (params.get(key)) $(`hub-${key}`).value = params.get(key);
}
// The tiny encoders are small (~6 MiB together): load them at once so the page is usable. A hub
// load (hundreds of MB the first time) starts only when the URL or the button asks for it.
load();
