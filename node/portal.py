"""A one-page web portal: paste or drop a credential file, read the verdict."""
# ruff: noqa: E501  (HTML reads better unwrapped)

PORTAL_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Senim — verify a credential</title>
<style>
body{font-family:sans-serif;max-width:760px;margin:2em auto;padding:0 1em;color:#222}
textarea{width:100%;height:12em;font-family:monospace}
.ok{color:#116611}.bad{color:#aa1111}li{margin:.3em 0}
</style></head><body>
<h1>Senim / Сенім — credential check</h1>
<p>Choose a credential file (JSON) you were given, or paste it below. It is checked
against this node's copy of the ledger; nothing you paste is stored.</p>
<input type="file" id="file" accept=".json,application/json">
<textarea id="doc" placeholder="{ &quot;format&quot;: &quot;senim-credential/v1&quot;, ... }"></textarea>
<p><button id="go">Verify</button> <a href="/openapi.json">API</a> · <a href="/v1/status">status</a></p>
<div id="out"></div>
<script>
const out = document.getElementById('out');
document.getElementById('file').onchange = async (e) => {
  document.getElementById('doc').value = await e.target.files[0].text();
};
document.getElementById('go').onclick = async () => {
  out.textContent = 'checking…';
  const r = await fetch('/v1/verify', {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: document.getElementById('doc').value});
  const v = await r.json();
  if (v.error) { out.innerHTML = '<p class="bad">' + v.error.message + '</p>'; return; }
  const esc = s => String(s).replace(/[&<>]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
  out.innerHTML = '<h2 class="' + (v.valid ? 'ok' : 'bad') + '">' +
    (v.valid ? 'VALID' : v.status.toUpperCase()) + ': ' + esc(v.reason) + '</h2><ol>' +
    v.checks.map(c => '<li class="' + (c.ok ? 'ok' : 'bad') + '">' + (c.ok ? '✔ ' : '✘ ') +
    esc(c.detail) + '</li>').join('') + '</ol><p>Source: ' + esc(v.source) + '</p>';
};
</script></body></html>
"""
