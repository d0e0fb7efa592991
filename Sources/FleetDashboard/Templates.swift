import Mustache

/// The dashboard's Mustache templates, compiled into the binary: `fleet dashboard` needs no resource
/// folder. `{{x}}` is HTML-escaped by Mustache; `{{{x}}}` is used only for markup built and escaped in
/// Swift (the layout's page body, sparkline SVG).
enum Templates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in all { try library.register(text, named: name) }
        return library
    }

    static let all: [(String, String)] = [
        ("layout", layout), ("queues", queues), ("workers", workers), ("failures", failures), ("dlq", dlq),
        ("entry", entry), ("confirm", confirm), ("result", result), ("login", login), ("schedules", schedules),
        ("backups", backups), ("filterFields", filterFields),
    ]

    static let layout = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>{{title}} · fleet dashboard</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
        header{background:#1d2330;color:#fff;padding:.6em 1.2em;display:flex;gap:1.2em;align-items:center}
        header a{color:#cfd8e6;text-decoration:none}header a.on{color:#fff;font-weight:600}
        header .who{margin-left:auto;display:flex;gap:.6em;align-items:center}
        main{padding:1em 1.2em}h1{font-size:1.3em;margin:.2em 0 .8em}
        table{border-collapse:collapse;background:#fff;width:100%}
        th,td{padding:.35em .6em;border-bottom:1px solid #e3e6eb;text-align:left;vertical-align:top}
        th{background:#eef0f4;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
        .spark{color:#3a6fd8}.bad{color:#b3261e}.muted{color:#6b7280}.ok{color:#1b7f3b}
        code,pre{font:12px ui-monospace,monospace;white-space:pre-wrap;word-break:break-all}
        form.inline{display:inline}fieldset{border:1px solid #d5d9e0;background:#fff;margin:0 0 1em}
        input,select,button{font:inherit}button.danger{color:#fff;background:#b3261e;border:0;padding:.3em .8em}
        .flash{background:#fff6d6;border:1px solid #e8d48a;padding:.5em .8em;margin-bottom:1em}
        footer{padding:1em 1.2em;color:#6b7280;font-size:12px}
        </style></head><body>
        <header><strong>fleet</strong>
        <a href="/" {{#nav.queues}}class="on"{{/nav.queues}}>Queues</a>
        <a href="/workers" {{#nav.workers}}class="on"{{/nav.workers}}>Workers</a>
        <a href="/failures" {{#nav.failures}}class="on"{{/nav.failures}}>Failures</a>
        <a href="/dlq" {{#nav.dlq}}class="on"{{/nav.dlq}}>Dead letters</a>
        <a href="/schedules" {{#nav.schedules}}class="on"{{/nav.schedules}}>Schedules</a>
        <a href="/backups" {{#nav.backups}}class="on"{{/nav.backups}}>Backups</a>
        <span class="who">{{#admin}}<span>admin ({{actor}})</span>
        <form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit">Log out</button></form>{{/admin}}
        {{^admin}}{{#actionsEnabled}}<a href="/login">Log in</a>{{/actionsEnabled}}
        {{^actionsEnabled}}<span class="muted">read-only</span>{{/actionsEnabled}}{{/admin}}</span></header>
        <main>{{{body}}}</main>
        <footer>Broker management API: {{managementURL}} · vhost {{vhost}}</footer>
        </body></html>
        """

    static let queues = """
        <h1>Queues</h1>
        {{#error}}<p class="bad">Management API: {{error}}</p>{{/error}}
        <table><thead><tr><th>Queue</th><th>Ready</th><th>Unacked</th><th>Retrying</th><th>Dead letters</th>
        <th>Consumers</th><th>Publish/s</th><th>Deliver/s</th><th>Depth</th><th>Publish rate</th></tr></thead><tbody>
        {{#rows}}<tr><td>{{name}}{{^exists}} <span class="bad">(not declared)</span>{{/exists}}</td>
        <td class="n">{{ready}}</td><td class="n">{{unacked}}</td><td class="n">{{retrying}}</td>
        <td class="n">{{#hasDead}}<a href="/dlq?queue={{name}}">{{deadLettered}}</a>{{/hasDead}}{{^hasDead}}0{{/hasDead}}</td>
        <td class="n">{{consumers}}</td><td class="n">{{publishRate}}</td><td class="n">{{deliverRate}}</td>
        <td>{{{depthSpark}}}</td><td>{{{rateSpark}}}</td></tr>{{/rows}}
        </tbody></table>
        <p class="muted">Sparklines: the dashboard's own samples, every {{interval}} s, newest on the right.</p>
        """

    static let workers = """
        <h1>Workers</h1>
        {{^rows}}<p class="muted">No worker metrics configured: start the dashboard with --worker-metrics \
        HOST:PORT,... (the workers' --http-address).</p>{{/rows}}
        {{#hasRows}}<table><thead><tr><th>Worker</th><th>Jobs</th><th>Failures</th><th>Dead-lettered</th>
        <th>In flight</th><th>p50</th><th>p99</th><th>By type</th></tr></thead><tbody>
        {{#rows}}<tr><td>{{address}}</td>{{#error}}<td colspan="7" class="bad">{{error}}</td>{{/error}}
        {{^error}}<td class="n">{{jobs}}</td><td class="n">{{failures}}</td><td class="n">{{deadLettered}}</td>
        <td class="n">{{inFlight}}</td><td class="n">{{p50}}</td><td class="n">{{p99}}</td><td>{{types}}</td>{{/error}}
        </tr>{{/rows}}</tbody></table>{{/hasRows}}
        """

    static let failures = """
        <h1>Recent failures</h1>
        {{#error}}<p class="bad">{{error}}</p>{{/error}}
        <p>Waiting for a retry: {{#retrying}}{{name}} {{count}}; {{/retrying}}{{^retrying}}none{{/retrying}}</p>
        {{^rows}}<p class="muted">No dead-lettered jobs.</p>{{/rows}}
        {{#hasRows}}<table><thead><tr><th>Dead-lettered at</th><th>Job</th><th>Type</th><th>Reason</th><th>Attempts</th>
        <th>First failure</th><th>Last error</th></tr></thead><tbody>
        {{#rows}}<tr><td>{{at}}</td><td><a href="{{link}}"><code>{{id}}</code></a></td><td>{{type}}</td>
        <td>{{reason}}{{#applied}} <span class="muted">(applied; step {{failedStep}})</span>{{/applied}}</td>
        <td class="n">{{attempts}}</td><td>{{firstFailure}}</td><td><code>{{error}}</code></td></tr>{{/rows}}
        </tbody></table>{{/hasRows}}
        """

    static let filterFields = """
        {{#hidden}}<input type="hidden" name="{{name}}" value="{{value}}">{{/hidden}}
        """

    static let dlq = """
        <h1>Dead letters</h1>
        <form method="get" action="/dlq"><fieldset><legend>Filter</legend>
        <label>Queue <select name="queue"><option value="">all</option>
        {{#queues}}<option value="{{name}}" {{#selected}}selected{{/selected}}>{{name}}</option>{{/queues}}</select></label>
        <label>Type <input name="type" value="{{type}}" size="22"></label>
        <label>Reason <input name="reason" value="{{reason}}" size="16"></label>
        <label>Since <input name="since" value="{{since}}" size="22" placeholder="2h or RFC 3339"></label>
        <label>Until <input name="until" value="{{until}}" size="22"></label>
        <button type="submit">Filter</button></fieldset></form>
        {{#problems}}<p class="bad">{{.}}</p>{{/problems}}
        {{#error}}<p class="bad">{{error}}</p>{{/error}}
        <form method="post" action="/dlq/replay">
        {{#canAct}}<input type="hidden" name="csrf" value="{{csrf}}">{{> filterFields}}{{/canAct}}
        <p>{{count}} job(s){{#truncated}} (the first {{limit}}){{/truncated}}.</p>
        <table><thead><tr>{{#canAct}}<th></th>{{/canAct}}<th>Dead-lettered at</th><th>Job</th><th>Type</th><th>Queue</th>
        <th>Reason</th><th>Attempts</th><th>Error</th></tr></thead><tbody>
        {{#rows}}<tr>{{#canAct}}<td><input type="checkbox" name="id" value="{{id}}" aria-label="select {{id}}"></td>{{/canAct}}
        <td>{{at}}</td><td><a href="{{link}}"><code>{{id}}</code></a></td><td>{{type}}</td><td>{{queue}}</td>
        <td>{{reason}}</td><td class="n">{{attempts}}</td><td><code>{{error}}</code></td></tr>{{/rows}}
        </tbody></table>
        {{#canAct}}<p><button type="submit" name="scope" value="selected">Replay selected</button>
        <button type="submit" name="scope" value="all">Replay all matching the filter</button>
        <button type="submit" formaction="/dlq/purge" name="scope" value="selected">Purge selected…</button>
        <button type="submit" formaction="/dlq/purge" name="scope" value="all">Purge all matching…</button></p>{{/canAct}}
        </form>
        {{^canAct}}<p class="muted">{{readOnlyNote}}</p>{{/canAct}}
        """

    static let entry = """
        <h1>Dead-lettered job <code>{{id}}</code></h1>
        <p><a href="/dlq?queue={{workQueue}}">← {{queue}}</a></p>
        <table><tbody><tr><th>Type</th><td>{{type}}</td></tr><tr><th>Reason</th><td>{{reason}}</td></tr>
        <tr><th>Attempts</th><td>{{attempts}}</td></tr><tr><th>Dead-lettered at</th><td>{{at}}</td></tr>
        <tr><th>Error</th><td><code>{{error}}</code></td></tr></tbody></table>
        <h2>Headers</h2><table><tbody>{{#headers}}<tr><th><code>{{key}}</code></th><td><code>{{value}}</code></td></tr>{{/headers}}
        </tbody></table>
        <h2>Envelope</h2><pre>{{body}}</pre>
        {{#canAct}}<form class="inline" method="post" action="/dlq/replay"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="queue" value="{{workQueue}}"><input type="hidden" name="id" value="{{id}}">
        <input type="hidden" name="scope" value="selected"><button type="submit">Replay this job</button></form>
        <form class="inline" method="post" action="/dlq/purge"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="queue" value="{{workQueue}}"><input type="hidden" name="id" value="{{id}}">
        <input type="hidden" name="scope" value="selected"><button type="submit">Purge…</button></form>{{/canAct}}
        """

    static let confirm = """
        <h1>Purge {{count}} dead-lettered job(s)?</h1>
        <p>They are deleted for good. {{#hasIds}}Selected: {{#ids}}<code>{{.}}</code> {{/ids}}{{/hasIds}}</p>
        <form method="post" action="/dlq/purge"><input type="hidden" name="csrf" value="{{csrf}}">
        {{> filterFields}}{{#ids}}<input type="hidden" name="id" value="{{.}}">{{/ids}}
        <input type="hidden" name="scope" value="{{scope}}"><input type="hidden" name="confirm" value="yes">
        <button class="danger" type="submit">Purge {{count}} job(s)</button> <a href="/dlq">Cancel</a></form>
        """

    static let result = """
        <h1>{{heading}}</h1><p class="flash">{{message}}</p>
        {{#hasHeld}}<p>Held back:</p><ul>{{#held}}<li><code>{{id}}</code>: {{why}}</li>{{/held}}</ul>{{/hasHeld}}
        <p><a href="/dlq">Back to the dead letters</a></p>
        """

    static let login = """
        <h1>Log in</h1>
        {{#error}}<p class="bad">{{error}}</p>{{/error}}
        {{#actionsEnabled}}<form method="post" action="/login"><label>Admin token
        <input type="password" name="token" autocomplete="current-password" required></label>
        <button type="submit">Log in</button></form>{{/actionsEnabled}}
        {{^actionsEnabled}}<p>This dashboard is read-only: no admin token is configured \
        (--admin-token-file or FLEET_DASHBOARD_ADMIN_TOKEN_FILE).</p>{{/actionsEnabled}}
        """

    static let schedules = """
        <h1>Schedules</h1>
        {{#error}}<p class="bad">{{error}}</p>{{/error}}
        {{^rows}}<p class="muted">No schedules in schedules.yaml.</p>{{/rows}}
        {{#hasRows}}<table><thead><tr><th>Schedule</th><th>Cron</th><th>Zone</th><th>Job type</th><th>Next run (UTC)</th>
        <th>Last tick (UTC)</th></tr></thead><tbody>
        {{#rows}}<tr><td>{{name}}</td><td><code>{{cron}}</code></td><td>{{zone}}</td><td>{{jobType}}</td><td>{{next}}</td>
        <td>{{last}}</td></tr>{{/rows}}</tbody></table>{{/hasRows}}
        """

    static let backups = """
        <h1>Backups</h1>
        {{#error}}<p class="bad">{{error}}</p>{{/error}}
        <table><thead><tr><th>Store</th><th>Last backup (UTC)</th><th>Size</th><th>Encrypted</th><th>Problem</th></tr></thead>
        <tbody>{{#rows}}<tr><td>{{store}}</td><td>{{at}}</td><td class="n">{{size}}</td><td>{{encrypted}}</td>
        <td class="bad">{{problem}}</td></tr>{{/rows}}</tbody></table>
        """
}
