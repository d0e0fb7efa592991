import FleetContract
import FleetCore
import FleetOps
import Foundation
import Hummingbird
import Logging
import Mustache
import NIOCore

/// `fleet dashboard`: server-rendered pages over the queues, workers, dead letters, schedules and
/// backups, with replay and purge behind the admin token and a per-session CSRF token.
public struct Dashboard: Sendable {
    let sources: DashboardSources
    let sessions: AdminSessions
    let history: QueueHistory
    let library: MustacheLibrary
    let logger: Logger
    let gate = SerialGate()
    /// The broker vhost the fleet lives in, shown in the footer.
    let vhost: String
    let sampleInterval: Duration
    /// Most entries one DLQ page lists (an action on "all matching" has no such limit).
    let listLimit: Int

    public init(
        sources: DashboardSources,
        sessions: AdminSessions,
        vhost: String,
        sampleInterval: Duration = .seconds(5),
        listLimit: Int = 200,
        logger: Logger
    ) throws {
        self.sources = sources
        self.sessions = sessions
        self.vhost = vhost
        self.sampleInterval = sampleInterval
        self.listLimit = listLimit
        self.logger = logger
        history = QueueHistory(capacity: 60)
        library = try Templates.library()
    }

    /// Serves until SIGINT/SIGTERM. `onBound` gets the bound `host:port` (port 0 picks one).
    public func run(host: String, port: Int, onBound: @escaping @Sendable (String) async -> Void) async throws {
        let sampler = QueueSampler(history: history, interval: sampleInterval, overview: sources.queueOverview)
        let app = Application(
            router: router(),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            services: [sampler],
            onServerRunning: { channel in
                let bound = channel.localAddress
                await onBound("\(bound?.ipAddress ?? host):\(bound?.port ?? port)")
            },
            logger: logger
        )
        try await app.runService()
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/healthz") { _, _ in "ok" }
        router.get("/") { request, _ in await queuesPage(viewer(request)) }
        router.get("/workers") { request, _ in await workersPage(viewer(request)) }
        router.get("/failures") { request, _ in await failuresPage(viewer(request)) }
        router.get("/dlq") { request, _ in await deadLettersPage(request, viewer(request)) }
        router.get("/dlq/entry") { request, _ in await entryPage(request, viewer(request)) }
        router.post("/dlq/replay") { request, _ in await replay(request) }
        router.post("/dlq/purge") { request, _ in await purge(request) }
        router.get("/schedules") { request, _ in await schedulesPage(viewer(request)) }
        router.get("/backups") { request, _ in await backupsPage(viewer(request)) }
        router.get("/login") { request, _ in page("login", "Log in", nav: "", loginModel(), viewer(request)) }
        router.post("/login") { request, _ in await login(request) }
        router.post("/logout") { request, _ in await logout(request) }
        return router
    }

    // MARK: Who is asking

    struct Viewer {
        var session: String?
        var admin: Bool
        var csrf: String?
    }

    func viewer(_ request: Request) -> Viewer {
        let session = request.cookies[AdminSessions.cookie]?.value
        guard let session, sessions.isValid(session) else { return Viewer(session: nil, admin: false, csrf: nil) }
        return Viewer(session: session, admin: true, csrf: sessions.csrfToken(for: session))
    }

    // MARK: Pages

    func queuesPage(_ viewer: Viewer) async -> Response {
        var model: [String: Any] = ["interval": sampleInterval.components.seconds]
        do {
            let overviews = try await sources.queueOverview()
            model["rows"] = overviews.map { queue -> [String: Any] in
                let series = history.series(of: queue.name)
                return [
                    "name": queue.name, "exists": queue.exists, "ready": queue.ready, "unacked": queue.unacked,
                    "retrying": queue.retrying, "deadLettered": queue.deadLettered, "hasDead": queue.deadLettered > 0,
                    "consumers": queue.consumers, "publishRate": Self.rate(queue.publishRate),
                    "deliverRate": Self.rate(queue.deliverRate),
                    "depthSpark": Sparkline.svg(series?.depth.values ?? [], label: "\(queue.name) depth"),
                    "rateSpark": Sparkline.svg(series?.publishRate.values ?? [], label: "\(queue.name) publish rate"),
                ]
            }
        } catch {
            model["error"] = "\(error)"
            model["rows"] = [[String: Any]]()
        }
        return page("queues", "Queues", nav: "queues", model, viewer)
    }

    func workersPage(_ viewer: Viewer) async -> Response {
        var rows: [[String: Any]] = []
        for address in sources.workerAddresses {
            do {
                let summary = try await sources.scrapeWorker(address)
                rows.append([
                    "address": address, "jobs": summary.jobs, "failures": summary.failures,
                    "deadLettered": summary.deadLettered, "inFlight": summary.inFlight,
                    "p50": Self.milliseconds(summary.p50), "p99": Self.milliseconds(summary.p99),
                    "types": summary.jobsByType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                        .joined(separator: ", "),
                ])
            } catch {
                rows.append(["address": address, "error": "\(error)"])
            }
        }
        return page("workers", "Workers", nav: "workers", ["rows": rows, "hasRows": !rows.isEmpty], viewer)
    }

    func failuresPage(_ viewer: Viewer) async -> Response {
        var model: [String: Any] = [:]
        var problems: [String] = []
        if let overviews = try? await sources.queueOverview() {
            model["retrying"] = overviews.filter { $0.retrying > 0 }.map { ["name": $0.name, "count": $0.retrying] }
        }
        var rows: [[String: Any]] = []
        do {
            let targets = try await deadLetterQueues(of: nil)
            let entries = try await gate.run { [sources] in
                try await sources.deadLetters(.list, targets, .init(limit: 50), false)
            }
            rows = entries.sorted { ($0.deadLetteredAt ?? "") > ($1.deadLetteredAt ?? "") }.map { entry in
                var row = entryRow(entry)
                // A permanent failure has no retry history: it first failed when it was dead-lettered.
                row["firstFailure"] = entry.headers[FleetHeaders.firstFailureAt]?.string ?? entry.deadLetteredAt ?? "-"
                row["applied"] = entry.applied
                row["failedStep"] = entry.failedStep ?? "-"
                return row
            }
        } catch {
            problems.append("\(error)")
        }
        model["rows"] = rows
        model["hasRows"] = !rows.isEmpty
        if !problems.isEmpty { model["error"] = problems.joined(separator: "; ") }
        return page("failures", "Failures", nav: "failures", model, viewer)
    }

    func deadLettersPage(_ request: Request, _ viewer: Viewer) async -> Response {
        let query = DeadLetterQuery(FormFields(request.uri.query ?? ""))
        var model = filterModel(query)
        model["canAct"] = viewer.admin
        model["csrf"] = viewer.csrf ?? ""
        model["limit"] = listLimit
        model["readOnlyNote"] =
            sessions.actionsEnabled
            ? "Log in with the admin token to replay or purge." : "Read-only: no admin token is configured."
        var rows: [[String: Any]] = []
        if query.problems.isEmpty {
            do {
                let queues = try await deadLetterQueues(of: query.queue)
                let filter = query.filter(limit: listLimit + 1)
                let entries = try await gate.run { [sources] in
                    try await sources.deadLetters(.list, queues, filter, false)
                }
                model["truncated"] = entries.count > listLimit
                rows = entries.prefix(listLimit).map(entryRow)
            } catch {
                model["error"] = "\(error)"
            }
        }
        model["rows"] = rows
        model["count"] = rows.count
        return page("dlq", "Dead letters", nav: "dlq", model, viewer)
    }

    func entryPage(_ request: Request, _ viewer: Viewer) async -> Response {
        let fields = FormFields(request.uri.query ?? "")
        guard let id = fields["id"] else { return notFound(viewer, "no job id given") }
        do {
            let queues = try await deadLetterQueues(of: fields["queue"])
            let entries = try await gate.run { [sources] in
                try await sources.deadLetters(.list, queues, .init(messageId: id, limit: 1), false)
            }
            guard let entry = entries.first else { return notFound(viewer, "no dead-lettered job with id \(id)") }
            var model = entryRow(entry)
            model["headers"] = entry.headers.sorted { $0.key < $1.key }.map {
                ["key": HTMLText.visible($0.key), "value": EntryText.header($0.value)]
            }
            model["body"] = EntryText.body(entry.body)
            model["canAct"] = viewer.admin
            model["csrf"] = viewer.csrf ?? ""
            return page("entry", "Job \(id)", nav: "dlq", model, viewer)
        } catch {
            return page(
                "result",
                "Error",
                nav: "dlq",
                ["heading": "Error", "message": "\(error)"],
                viewer,
                .badRequest
            )
        }
    }

    func schedulesPage(_ viewer: Viewer) async -> Response {
        var model: [String: Any] = [:]
        do {
            let rows = try await sources.schedules().map { schedule -> [String: Any] in
                [
                    "name": schedule.name, "cron": schedule.cron, "zone": schedule.timeZone,
                    "jobType": schedule.jobType,
                    "next": schedule.nextFire.map(RFC3339.format) ?? "never",
                    "last": schedule.lastTick.map(RFC3339.format) ?? "none yet",
                ]
            }
            model["rows"] = rows
            model["hasRows"] = !rows.isEmpty
        } catch {
            model["error"] = "\(error)"
        }
        return page("schedules", "Schedules", nav: "schedules", model, viewer)
    }

    func backupsPage(_ viewer: Viewer) async -> Response {
        var model: [String: Any] = [:]
        do {
            model["rows"] = try await sources.backups().map { backup -> [String: Any] in
                [
                    "store": backup.store, "at": backup.finishedAt.map(RFC3339.format) ?? "never",
                    "size": backup.size.map { ByteCountFormatter.string(fromByteCount: Int64($0), countStyle: .file) }
                        ?? "-",
                    "encrypted": backup.finishedAt == nil ? "-" : (backup.encrypted ? "yes" : "no"),
                    "problem": backup.problem ?? "",
                ]
            }
        } catch {
            model["error"] = "\(error)"
        }
        return page("backups", "Backups", nav: "backups", model, viewer)
    }

    /// The DLQs to walk: one work queue's, or every work queue's that the broker has (a passive declare
    /// of a missing queue would fail the whole walk; the management API says which exist).
    func deadLetterQueues(of workQueue: String?) async throws -> [Topology.Queue] {
        let queues = try DeadLetterAdmin(topology: sources.topology).deadLetterQueues(of: workQueue)
        guard workQueue == nil, let overviews = try? await sources.queueOverview() else { return queues }
        let existing = Set(overviews.filter(\.exists).map(\.name))
        return queues.filter { existing.contains($0.name) }
    }

    // MARK: Actions

    func replay(_ request: Request) async -> Response {
        let (fields, session, refusal) = await authorizedForm(request)
        guard let session else { return refusal! }
        return await act(.replay, fields: fields, session: session, viewer: viewer(request))
    }

    func purge(_ request: Request) async -> Response {
        let (fields, session, refusal) = await authorizedForm(request)
        guard let session else { return refusal! }
        return await act(.purge, fields: fields, session: session, viewer: viewer(request))
    }

    /// Replay or purge the selection (`scope=selected`, the `id` fields) or everything matching the
    /// filter (`scope=all`). A purge without `confirm=yes` only counts and asks.
    func act(_ action: DeadLetterAdmin.Action, fields: FormFields, session: String, viewer: Viewer) async -> Response {
        let query = DeadLetterQuery(fields)
        let ids = Set(fields.all("id").filter { !$0.isEmpty })
        let all = fields["scope"] == "all"
        let verb = action == .replay ? "replay" : "purge"
        guard query.problems.isEmpty else { return failure(viewer, query.problems.joined(separator: "; ")) }
        guard all || !ids.isEmpty else { return failure(viewer, "Select at least one job to \(verb).") }
        let filter = query.filter(messageIds: all ? nil : ids)
        let confirmed = action == .replay || fields["confirm"] == "yes"
        do {
            let queues = try await deadLetterQueues(of: query.queue)
            let entries = try await gate.run { [sources] in
                try await sources.deadLetters(action, queues, filter, !confirmed)
            }
            if !confirmed {
                var model = filterModel(query)
                model["count"] = entries.count
                model["ids"] = all ? [] : ids.sorted()
                model["hasIds"] = !all
                model["scope"] = all ? "all" : "selected"
                model["csrf"] = viewer.csrf ?? ""
                return page("confirm", "Confirm purge", nav: "dlq", model, viewer)
            }
            let held = entries.filter { $0.heldBack != nil }
            let done = entries.count - held.count
            logger.notice(
                "dashboard.action",
                metadata: [
                    "who": "\(AdminSessions.actor(session))", "action": "\(verb)", "count": "\(done)",
                    "held_back": "\(held.count)", "scope": "\(all ? "all matching" : "selected")",
                    "queue": "\(query.queue ?? "all")",
                ]
            )
            let heldRows = held.map { ["id": $0.messageId ?? "-", "why": $0.heldBack ?? ""] }
            return page(
                "result",
                action == .replay ? "Replayed" : "Purged",
                nav: "dlq",
                [
                    "heading": action == .replay ? "Replayed" : "Purged",
                    "message": "\(action == .replay ? "Replayed" : "Purged") \(done) job(s)"
                        + (held.isEmpty ? "." : ", held back \(held.count)."),
                    "held": heldRows, "hasHeld": !held.isEmpty,
                ],
                viewer
            )
        } catch {
            return failure(viewer, "\(error)")
        }
    }

    func login(_ request: Request) async -> Response {
        let fields = await form(request)
        let plain = viewer(request)
        guard sessions.actionsEnabled else {
            return page("login", "Log in", nav: "", loginModel(), plain, .forbidden)
        }
        guard let session = sessions.login(presented: fields["token"] ?? "") else {
            logger.warning("dashboard.login refused", metadata: ["reason": "wrong admin token"])
            return page("login", "Log in", nav: "", loginModel(error: "Wrong admin token."), plain, .forbidden)
        }
        logger.notice("dashboard.login", metadata: ["who": "\(AdminSessions.actor(session))"])
        var response = Response.redirect(to: "/dlq", type: .normal)
        response.setCookie(
            Cookie(
                name: AdminSessions.cookie,
                value: session,
                maxAge: Int(sessions.lifetime),
                path: "/",
                httpOnly: true,
                sameSite: .strict
            )
        )
        return response
    }

    func loginModel(error: String? = nil) -> [String: Any] {
        var model: [String: Any] = ["actionsEnabled": sessions.actionsEnabled]
        if let error { model["error"] = error }
        return model
    }

    func logout(_ request: Request) async -> Response {
        let (_, session, refusal) = await authorizedForm(request)
        guard let session else { return refusal! }
        sessions.logout(session)
        logger.notice("dashboard.logout", metadata: ["who": "\(AdminSessions.actor(session))"])
        var response = Response.redirect(to: "/", type: .normal)
        response.setCookie(
            Cookie(name: AdminSessions.cookie, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .strict)
        )
        return response
    }

    /// The form of a POST from a live admin session with its CSRF token; else a 403 naming what is missing.
    func authorizedForm(_ request: Request) async -> (FormFields, String?, Response?) {
        let fields = await form(request)
        let plain = Viewer(session: nil, admin: false, csrf: nil)
        guard sessions.actionsEnabled else {
            return (fields, nil, failure(plain, "Read-only: no admin token is configured.", .forbidden))
        }
        let session = request.cookies[AdminSessions.cookie]?.value
        guard let session, sessions.isValid(session) else {
            return (fields, nil, failure(plain, "Log in with the admin token first.", .forbidden))
        }
        guard sessions.checkCSRF(session: session, presented: fields["csrf"]) else {
            logger.warning("dashboard.csrf refused", metadata: ["who": "\(AdminSessions.actor(session))"])
            return (fields, nil, failure(viewer(request), "Missing or invalid CSRF token.", .forbidden))
        }
        return (fields, session, nil)
    }

    func form(_ request: Request) async -> FormFields {
        guard let body = try? await request.body.collect(upTo: 1 << 20) else { return FormFields("") }
        return FormFields(String(buffer: body))
    }

    // MARK: Rendering

    func entryRow(_ entry: DeadLetterEntry) -> [String: Any] {
        let workQueue = sources.topology.queues.first { $0.deadLetterQueue == entry.queue }?.name ?? entry.queue
        let id = entry.messageId ?? ""
        return [
            "id": HTMLText.visible(id), "type": HTMLText.visible(entry.type ?? "-"), "queue": entry.queue,
            "workQueue": workQueue, "reason": HTMLText.visible(entry.reason), "attempts": entry.attempts,
            "at": entry.deadLetteredAt.map(HTMLText.visible) ?? "-",
            "error": HTMLText.visible(entry.error ?? ""),
            "link": "/dlq/entry?" + FormFields.encode([("queue", workQueue), ("id", id)]),
        ]
    }

    func filterModel(_ query: DeadLetterQuery) -> [String: Any] {
        let fields = Dictionary(query.fields, uniquingKeysWith: { first, _ in first })
        return [
            "queues": sources.topology.queues.map { ["name": $0.name, "selected": $0.name == query.queue] },
            "type": query.type ?? "", "reason": query.reason ?? "", "since": fields["since"] ?? "",
            "until": fields["until"] ?? "", "problems": query.problems,
            "hidden": query.fields.map { ["name": $0.0, "value": $0.1] },
        ]
    }

    func page(
        _ template: String,
        _ title: String,
        nav: String,
        _ model: [String: Any],
        _ viewer: Viewer,
        _ status: HTTPResponse.Status = .ok
    ) -> Response {
        let body = library.render(model, withTemplate: template) ?? ""
        let layout: [String: Any] = [
            "title": title, "nav": [nav: true], "body": body, "admin": viewer.admin,
            "actor": viewer.session.map(AdminSessions.actor) ?? "", "csrf": viewer.csrf ?? "",
            "actionsEnabled": sessions.actionsEnabled, "managementURL": sources.managementURL, "vhost": vhost,
        ]
        return Self.html(library.render(layout, withTemplate: "layout") ?? "", status: status)
    }

    func failure(_ viewer: Viewer, _ message: String, _ status: HTTPResponse.Status = .badRequest) -> Response {
        page("result", "Refused", nav: "dlq", ["heading": "Refused", "message": message], viewer, status)
    }

    func notFound(_ viewer: Viewer, _ message: String) -> Response {
        page("result", "Not found", nav: "dlq", ["heading": "Not found", "message": message], viewer, .notFound)
    }

    /// Every page: no caching, no scripts, no framing, forms only to this origin.
    static func html(_ text: String, status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPFields.Element.Name("Content-Security-Policy")!] =
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"
        headers[HTTPFields.Element.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPFields.Element.Name("Referrer-Policy")!] = "no-referrer"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func rate(_ value: Double) -> String { String(format: "%.1f", value) }

    static func milliseconds(_ seconds: Double?) -> String {
        seconds.map { String(format: "%.1f ms", $0 * 1000) } ?? "-"
    }
}
