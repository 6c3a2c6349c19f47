/** The UI's stylesheet, served from /assets/app.css (CSP: styles only from self). Contrast ≥ 4.5:1. */
export const CSS = `
:root{--ink:#14181f;--muted:#4a5361;--line:#d5dae1;--bg:#ffffff;--soft:#f3f5f8;--brand:#0b57d0;--brand-ink:#ffffff;--ok:#1b6e3a;--bad:#a1261b;--warn:#7a4a00}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--brand)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid #f2a900;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:8px;z-index:9}
header.top{display:flex;gap:24px;align-items:center;padding:12px 24px;border-bottom:1px solid var(--line);flex-wrap:wrap}
header.top .brand{font-weight:700;font-size:20px;color:var(--ink);text-decoration:none}
header.top nav ul{display:flex;gap:16px;list-style:none;margin:0;padding:0;flex-wrap:wrap}
header.top .who{margin-left:auto;display:flex;gap:12px;align-items:center}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:28px;margin:0 0 16px}h2{font-size:20px;margin:24px 0 12px}
.muted{color:var(--muted)}
form.inline{display:inline}
.search{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-end;background:var(--soft);padding:16px;border-radius:8px}
.search label,.field label{display:block;font-weight:600;font-size:14px;margin-bottom:4px}
input,select,textarea{font:inherit;padding:8px 10px;border:1px solid #8a94a3;border-radius:6px;background:#fff;color:var(--ink)}
button,.button{font:inherit;padding:8px 16px;border-radius:6px;border:1px solid var(--brand);background:var(--brand);color:var(--brand-ink);cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#fff;color:var(--brand)}button.danger{background:var(--bad);border-color:var(--bad)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:16px;list-style:none;padding:0}
.card{border:1px solid var(--line);border-radius:8px;padding:16px;display:flex;flex-direction:column;gap:8px}
.card h3{margin:0;font-size:17px}.card p{margin:0}
.tag{display:inline-block;background:var(--soft);border:1px solid var(--line);border-radius:999px;padding:0 8px;font-size:13px;color:var(--muted)}
.cats{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:8px;border-bottom:1px solid var(--line);vertical-align:top}
.bar{display:flex;align-items:center;gap:8px}ul.plain{list-style:none;padding:0}
.error{color:var(--bad);font-weight:600}.notice{background:#e7f2ea;border:1px solid #9bc7a8;color:var(--ok);padding:8px 12px;border-radius:6px}
.alert{background:#fbeaea;border:1px solid #e2a4a0;color:var(--bad);padding:8px 12px;border-radius:6px}
.prose pre{background:#0f1720;color:#e6edf3;padding:12px;border-radius:6px;overflow:auto}.prose code{font-size:14px}
.grid2{display:grid;grid-template-columns:2fr 1fr;gap:24px}@media (max-width:800px){.grid2{grid-template-columns:1fr}}
footer{border-top:1px solid var(--line);padding:16px 24px;color:var(--muted);font-size:14px}
svg.chart text{font-size:11px;fill:var(--muted)}
`;
