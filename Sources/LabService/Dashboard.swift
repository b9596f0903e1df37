// Dashboard: the live operator page served at /dashboard — one static HTML file whose script reads the admin
// key from the URL fragment (never sent to the server or logged) and polls /admin/summary every two seconds:
// accounts, spend, requests per minute, alarms, bans. Not a data source: it only renders what the API says.
enum Dashboard {
    static func html(model: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>distill-lab serve — \(model)</title>
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#f6f7f9}
        h1{font-size:20px;margin:0 0 4px} .sub{color:#667;margin-bottom:16px}
        .tiles{display:flex;gap:12px;margin-bottom:18px} .tile{background:#fff;border:1px solid #dde;border-radius:8px;padding:10px 16px;min-width:150px}
        .tile b{display:block;font-size:22px} table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:18px}
        th,td{border-bottom:1px solid #e4e6ea;padding:5px 8px;text-align:left} th{background:#eef0f4;font-weight:600}
        td.n{text-align:right;font-variant-numeric:tabular-nums} tr.banned td{background:#fde8e8;color:#8a1f1f}
        .bar{height:8px;background:#c33;border-radius:4px} .err{color:#a00;font-weight:600}
        </style></head><body>
        <h1>distill-lab serve — <span id="model">\(model)</span></h1>
        <div class="sub" id="status">connecting…</div>
        <div class="tiles">
          <div class="tile">accounts<b id="t-accounts">–</b></div>
          <div class="tile">requests / min<b id="t-rpm">–</b></div>
          <div class="tile">total spend<b id="t-spend">–</b></div>
          <div class="tile">alarms<b id="t-alarms">–</b></div>
          <div class="tile">banned<b id="t-bans">–</b></div>
        </div>
        <h2>Accounts</h2>
        <table><thead><tr><th>account</th><th>requests</th><th>prompt tok</th><th>completion tok</th><th>spend ($)</th><th>suspicion</th><th>status</th></tr></thead>
        <tbody id="accounts"></tbody></table>
        <h2>Alarms</h2>
        <table><thead><tr><th>time</th><th>account</th><th>detector</th><th>requests served then</th><th>bans</th></tr></thead>
        <tbody id="alarms"></tbody></table>
        <script>
        const key = new URLSearchParams(location.hash.slice(1)).get("key");
        const esc = s => String(s).replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
        const time = t => new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19);
        async function refresh() {
          if (!key) { document.getElementById("status").innerHTML = '<span class="err">open this page as /dashboard#key=ADMIN_KEY</span>'; return; }
          try {
            const r = await fetch("/admin/summary", {headers: {Authorization: "Bearer " + key}});
            const s = await r.json();
            if (!r.ok) throw new Error(s.error ? s.error.message : r.status);
            const names = {};
            s.accounts.forEach(a => names[a.id] = a.account);
            const banned = s.accounts.filter(a => a.banned_at !== null);
            const spend = s.accounts.reduce((x, a) => x + a.cost_dollars, 0);
            document.getElementById("t-accounts").textContent = s.accounts.length;
            document.getElementById("t-rpm").textContent = s.requests_per_minute.toFixed(0);
            document.getElementById("t-spend").textContent = "$" + spend.toFixed(6);
            document.getElementById("t-alarms").textContent = s.alarms.length;
            document.getElementById("t-bans").textContent = banned.length;
            document.getElementById("accounts").innerHTML = s.accounts.map(a => {
              const sus = Math.max(0, ...Object.values(a.suspicion || {}));
              return `<tr class="${a.banned_at !== null ? "banned" : ""}"><td>${esc(a.account)}${a.admin ? " (admin)" : ""}</td>` +
                `<td class="n">${a.requests}</td><td class="n">${a.prompt_tokens}</td><td class="n">${a.completion_tokens}</td>` +
                `<td class="n">${a.cost_dollars.toFixed(9)}</td><td><div class="bar" style="width:${(sus * 100).toFixed(0)}px"></div></td>` +
                `<td>${a.banned_at !== null ? "banned " + time(a.banned_at) : "active"}</td></tr>`;
            }).join("");
            document.getElementById("alarms").innerHTML = s.alarms.slice(-50).reverse().map(a =>
              `<tr><td>${time(a.time)}</td><td>${esc(names[a.account] || a.account)}</td><td>${esc(a.detector)}</td><td class="n">${a.served}</td><td>${a.bans ? "yes" : "monitor"}</td></tr>`).join("");
            document.getElementById("status").textContent = `detectors: ${s.detectors.join(", ") || "none"} · up ${Math.round(s.uptime_seconds)} s · updated ${time(s.now)} UTC`;
          } catch (e) {
            document.getElementById("status").innerHTML = '<span class="err">' + esc(e.message) + '</span>';
          }
        }
        refresh();
        setInterval(refresh, 2000);
        </script></body></html>
        """
    }
}
