// Owns: the command-line check of fromPretrained in Node, Deno and Bun (test/hub-runtimes.test.ts
// runs it): through the library's Node entry, load the tiny question encoder by hub id from a local
// hub server into a cache folder, then again offline, embedding one text each time; between the two
// it GETs {endpoint}/__mark so the server's log shows which requests each load made. Prints exactly
// one JSON line on stdout ({"error": ...} and exit 1 when anything throws).
// Does not own the assertions (the test) or the server (test/helpers/hub-server.ts).
//
//   node|bun hub-check.mjs --lib SPEC --endpoint URL --cache DIR --repo ID
//   deno run -A hub-check.mjs ...
const runtime = globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'node';
const argv = runtime === 'deno' ? Deno.args : process.argv.slice(2);
const cwd = runtime === 'deno' ? Deno.cwd() : process.cwd();
const arg = (name) => argv[argv.indexOf(name) + 1];

try {
  const spec = arg('--lib');
  const lib = await import(spec.startsWith('/') || spec.startsWith('.') ? new URL(`file://${spec.startsWith('/') ? spec : `${cwd}/${spec}`}`).href : spec);
  const options = { endpoint: arg('--endpoint'), cacheDir: arg('--cache'), threads: 1 };
  const first = await lib.Encoder.fromPretrained(arg('--repo'), options);
  const [a] = await first.embed(['고혈압 진단.']);
  first.dispose();
  await (await fetch(`${options.endpoint}/__mark`)).text();
  const second = await lib.Encoder.fromPretrained(arg('--repo'), { ...options, offline: true });
  const [b] = await second.embed(['고혈압 진단.']);
  second.dispose();
  const same = a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  console.log(JSON.stringify({ runtime, same, first: Array.from(a.slice(0, 3)) }));
} catch (error) {
  console.log(JSON.stringify({ runtime, error: String(error?.stack ?? error) }));
  if (runtime === 'deno') Deno.exit(1);
  else process.exit(1);
}
