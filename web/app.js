// Owns: the web demo's behaviour. It loads the two encoders from bytes the page gets itself (the
// tiny fixtures over fetch, or two folders the person picks), with a progress bar, then scores the
// passages against the question with the library's BiEncoder and shows a table.
// Does not own: any model code (it imports the library's runtime-neutral entry from dist/, exactly
// what a browser gets from the package's exports map) or the server (scripts/serve-web.mjs).
import * as kmed from '../dist/index.js';

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

async function load() {
  const useFolders = document.querySelector('input[name=source]:checked').value === 'folders';
  setBusy(true);
  $('progress-box').hidden = false;
  $('model-info').classList.remove('error');
  $('model-info').textContent = 'Loading…';
  const started = performance.now();
  try {
    biEncoder?.question.dispose?.();
    biEncoder?.context.dispose?.();
    biEncoder = null;
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
    progress.stage('Building the encoders (parsing weights into WebAssembly memory)…');
    await new Promise((r) => setTimeout(r, 0)); // let the label paint before the heavy part
    const threads = Number($('threads').value) || 1;
    biEncoder = await kmed.BiEncoder.fromFiles(files, { names, threads });
    const config = biEncoder.question.config;
    const ran = biEncoder.question.threads ?? 1;
    loadedLabel = `${names.question} + ${names.context}`;
    $('model-info').textContent =
      `Loaded ${loadedLabel} in ${((performance.now() - started) / 1000).toFixed(2)} s — ` +
      `hidden ${config?.hidden_size ?? biEncoder.dimension}, ${config?.num_hidden_layers ?? '?'} layers, ` +
      `${formatBytes(total)} read · ${ran} thread${ran === 1 ? '' : 's'}` +
      (ran < threads ? ` (asked for ${threads}; this build of the library runs ${ran})` : '') +
      (globalThis.crossOriginIsolated ? '' : ' (page not cross-origin isolated)');
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

function setBusy(busy) {
  $('load').disabled = busy;
  $('score').disabled = busy || biEncoder === null;
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
  });
}
for (const id of ['question-dir', 'context-dir']) {
  $(id).addEventListener('change', () => {
    document.querySelector('input[name=source][value=folders]').checked = true;
    $('pickers').classList.add('active');
  });
}
$('load').addEventListener('click', load);
$('score').addEventListener('click', score);
$('add-passage').addEventListener('click', () => addPassage().querySelector('textarea').focus());
$('example').addEventListener('click', fillExample);
$('question').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !$('score').disabled) score();
});

setupThreads();
fillExample();
// The tiny encoders are small (~6 MiB together): load them at once so the page is usable.
load();
