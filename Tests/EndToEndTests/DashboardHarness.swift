import Foundation

/// A `fleet dashboard` child process on a free port of this test's world, and a curl-based HTTP client
/// for its routes (curl keeps redirects and cookies in the test's hands).
struct DashboardProcess {
    let process: WorkerProcess
    /// `http://127.0.0.1:PORT`
    let baseURL: String
    let tokenFile: String?

    /// `token` nil: a read-only dashboard. `workerMetrics` is passed as `--worker-metrics`.
    static func start(
        in environment: FleetTestEnvironment,
        token: String?,
        workerMetrics: [String] = []
    ) async throws -> DashboardProcess {
        let addressFile = "\(NSTemporaryDirectory())/dashboard-\(UUID().uuidString.prefix(8)).address"
        var overrides = [
            "FLEET_HTTP_ADDRESS_FILE": addressFile, "FLEET_RABBITMQ_MGMT_URL": environment.managementURL,
            "FLEET_LOG_LEVEL": "info",
        ]
        var tokenFile: String?
        if let token {
            let file = "\(NSTemporaryDirectory())/dashboard-\(UUID().uuidString.prefix(8)).token"
            try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: file))
            tokenFile = file
            overrides["FLEET_DASHBOARD_ADMIN_TOKEN_FILE"] = file
        }
        var arguments = [
            "dashboard", "--config-dir", environment.configuration.configDirectory, "--http-address", "127.0.0.1:0",
            "--sample-interval", "1",
        ]
        if !workerMetrics.isEmpty { arguments += ["--worker-metrics", workerMetrics.joined(separator: ",")] }
        let process = try WorkerProcess(
            arguments: arguments,
            environment: environment.processEnvironment.merging(overrides) { $1 },
            logName: "\(environment.name)-dashboard"
        )
        var address = ""
        try await environment.waitUntil("the dashboard's address file", timeout: .seconds(90)) {
            guard process.isRunning else { throw HarnessError(description: "dashboard exited: \(process.output)") }
            address = (try? String(contentsOfFile: addressFile, encoding: .utf8)) ?? ""
            return !address.isEmpty
        }
        try? FileManager.default.removeItem(atPath: addressFile)
        return DashboardProcess(process: process, baseURL: "http://\(address)", tokenFile: tokenFile)
    }

    func stop() -> String {
        let output = process.stop()
        if let tokenFile { try? FileManager.default.removeItem(atPath: tokenFile) }
        return output
    }

    struct Reply {
        var status: Int
        var headers: String
        var body: String
    }

    /// GET, or POST of `form` (URL-encoded) when given, with an optional session cookie. Redirects are
    /// not followed.
    func request(_ path: String, form: [(String, String)]? = nil, cookie: String? = nil) throws -> Reply {
        let headerFile = "\(NSTemporaryDirectory())/dashboard-\(UUID().uuidString.prefix(8)).headers"
        defer { try? FileManager.default.removeItem(atPath: headerFile) }
        var arguments = ["-sS", "--max-time", "60", "-D", headerFile]
        if let cookie { arguments += ["-b", "fleet_dashboard_session=\(cookie)"] }
        if let form {
            arguments += ["-X", "POST"]
            arguments += form.isEmpty ? ["-d", ""] : form.flatMap { ["--data-urlencode", "\($0.0)=\($0.1)"] }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = arguments + [baseURL + path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let body = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HarnessError(description: "curl \(path) exited \(process.terminationStatus)")
        }
        let headers = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        let status = headers.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return Reply(status: status, headers: headers, body: String(decoding: body, as: UTF8.self))
    }

    /// The session cookie a reply sets, if any.
    static func sessionCookie(_ reply: Reply) -> String? {
        for line in reply.headers.split(separator: "\r\n") where line.lowercased().hasPrefix("set-cookie:") {
            let value = line.dropFirst("set-cookie:".count).trimmingCharacters(in: .whitespaces)
            guard value.hasPrefix("fleet_dashboard_session=") else { continue }
            let cookie = value.dropFirst("fleet_dashboard_session=".count).prefix { $0 != ";" }
            return cookie.isEmpty ? nil : String(cookie)
        }
        return nil
    }

    /// The value of the first hidden `csrf` field of a page.
    static func csrf(in body: String) -> String? {
        guard let range = body.range(of: #"name="csrf" value=""#) else { return nil }
        return String(body[range.upperBound...].prefix { $0 != "\"" })
    }
}

/// Serves a fixed `/metrics` body over HTTP (Python's http.server on a free port), standing in for a
/// worker's listener where the test needs exact figures.
struct StaticMetricsServer {
    let process: Process
    let url: String

    static func start(_ body: String) async throws -> StaticMetricsServer {
        let directory = "\(NSTemporaryDirectory())/metrics-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(body.utf8).write(to: URL(fileURLWithPath: "\(directory)/metrics"))
        let portFile = "\(directory)/port"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            "-c",
            """
            import http.server, os, sys
            os.chdir(sys.argv[1])
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
            open("port.tmp", "w").write(str(server.server_address[1]))
            os.rename("port.tmp", "port")
            server.serve_forever()
            """,
            directory,
        ]
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let port = try? String(contentsOfFile: portFile, encoding: .utf8), !port.isEmpty {
                return StaticMetricsServer(process: process, url: "http://127.0.0.1:\(port)/metrics")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        throw HarnessError(description: "the metrics server did not start")
    }

    /// SIGKILL: the test process's blocked signals are inherited, so Python would never see a SIGTERM.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
