import Testing

@testable import ServiceURL

@Suite("Service URL")
struct ServiceURLTests {
    static let schemes: KeyValuePairs<String, Int> = ["postgresql": 5432, "postgres": 5432]

    func parse(_ url: String, hostList: Bool = false) throws -> ServiceURL {
        try ServiceURL(url, schemes: Self.schemes, allowsHostList: hostList)
    }

    // MARK: - Parts

    @Test func everyPart() throws {
        let url = try parse("postgresql://fleet:pw@db.internal:6000/jobs?sslmode=require#frag")
        #expect(url.scheme == "postgresql")
        #expect(url.user == "fleet")
        #expect(url.password == "pw")
        #expect(url.host == "db.internal")
        #expect(url.port == 6000)
        #expect(url.endpoints == [.init(host: "db.internal", port: 6000)])
        #expect(url.path == "jobs")
        #expect(url.encodedPath == "jobs")
        #expect(url.query == "sslmode=require")
        #expect(url.fragment == "frag")
    }

    @Test func onlyAHost() throws {
        let url = try parse("postgres://h")
        #expect(url.scheme == "postgres")
        #expect(url.user == nil && url.password == nil)
        #expect(url.host == "h" && url.port == 5432, "the caller's default port")
        #expect(url.path == nil && url.encodedPath == nil)
        #expect(url.query == nil && url.fragment == nil)
    }

    @Test func emptyPathQueryAndFragment() throws {
        let url = try parse("postgresql://h/?#")
        #expect(url.path == "")
        #expect(url.query == "")
        #expect(url.fragment == "")
        #expect(try parse("postgresql://h?q").path == nil)
        #expect(try parse("postgresql://h?q").query == "q")
        #expect(try parse("postgresql://h#f/x?y").fragment == "f/x?y")
    }

    @Test func theSchemeIsMatchedWithoutCaseAndEachHasItsDefaultPort() throws {
        #expect(try parse("PostgreSQL://h").scheme == "postgresql")
        let url = try ServiceURL("B://h", schemes: ["a": 1, "b": 2])
        #expect(url.scheme == "b" && url.port == 2)
    }

    // MARK: - User information

    @Test func userWithoutPasswordAndEmptyParts() throws {
        let userOnly = try parse("postgresql://worker@h/d")
        #expect(userOnly.user == "worker" && userOnly.password == nil)

        let emptyPassword = try parse("postgresql://worker:@h/d")
        #expect(emptyPassword.user == "worker" && emptyPassword.password == "")

        let passwordOnly = try parse("postgresql://:secret@h/d")
        #expect(passwordOnly.user == "" && passwordOnly.password == "secret")

        let bareAt = try parse("postgresql://@h/d")
        #expect(bareAt.user == "" && bareAt.password == nil && bareAt.host == "h")
    }

    @Test func percentEncodedUserPasswordAndPath() throws {
        let url = try parse("postgresql://us%65r:p%40ss%3Aw%2Frd%25@h/my%20db%2Fx")
        #expect(url.user == "user")
        #expect(url.password == "p@ss:w/rd%")
        #expect(url.path == "my db/x")
        #expect(url.encodedPath == "my%20db%2Fx")
        #expect(try parse("postgresql://u:%C3%A9t%C3%A9@h").password == "été")
        #expect(try parse("postgresql://u:a+b@h").password == "a+b", "+ is not a space")
    }

    @Test func passwordWithUnencodedDelimiters() throws {
        // The last "@" before the first "/" ends the user information.
        let at = try parse("postgresql://u:a@b@host:1/d")
        #expect(at.user == "u" && at.password == "a@b" && at.host == "host" && at.port == 1)

        // The first ":" splits user and password; later ones belong to the password.
        let colon = try parse("postgresql://u:a:b:c@h/d")
        #expect(colon.user == "u" && colon.password == "a:b:c")

        let questionAndHash = try parse("postgresql://u:p?x#y@h/d?q=1")
        #expect(questionAndHash.password == "p?x#y")
        #expect(questionAndHash.host == "h" && questionAndHash.path == "d" && questionAndHash.query == "q=1")
    }

    @Test func anAtInThePathOrQueryIsNotUserInformation() throws {
        let url = try parse("postgresql://h/d@x?mail=a@b")
        #expect(url.user == nil && url.host == "h")
        #expect(url.path == "d@x" && url.query == "mail=a@b")
    }

    // MARK: - Hosts and ports

    @Test func ipv6Hosts() throws {
        let url = try parse("postgresql://u:p@[::1]:5433/d")
        #expect(url.host == "::1" && url.port == 5433)
        #expect(url.endpoints[0].description == "[::1]:5433")

        let noPort = try parse("postgresql://[2001:db8::42]")
        #expect(noPort.host == "2001:db8::42" && noPort.port == 5432)

        let zone = try parse("postgresql://[fe80::1%25eth0]:1/d")
        #expect(zone.host == "fe80::1%eth0")
    }

    @Test func percentEncodedHost() throws {
        #expect(try parse("postgresql://my%2Dhost/d").host == "my-host")
    }

    @Test func ports() throws {
        #expect(try parse("postgresql://h:1").port == 1)
        #expect(try parse("postgresql://h:65535").port == 65535)
        #expect(try parse("postgresql://h:007").port == 7)
    }

    @Test func hostLists() throws {
        let url = try parse("postgresql://u:p@a:1,b,[::1]:3/d", hostList: true)
        #expect(
            url.endpoints == [.init(host: "a", port: 1), .init(host: "b", port: 5432), .init(host: "::1", port: 3)]
        )
        #expect(url.host == "a" && url.port == 1)
        #expect(url.endpoints.map(\.description) == ["a:1", "b:5432", "[::1]:3"])
    }

    // MARK: - Errors

    @Test(arguments: [
        // (URL, the part at fault, a word of the reason)
        ("h:5432/d", ServiceURLError.Component.scheme, "postgresql:// or postgres://"),
        ("postgresql:/h/d", .scheme, "starting with"),
        ("mysql://u:hunter2@h/d", .scheme, "unsupported scheme \"mysql\""),
        ("hunter2 x://h", .scheme, "unsupported scheme,"),
        ("postgresql://", .host, "missing host"),
        ("postgresql://u:hunter2@", .host, "missing host"),
        ("postgresql://u:hunter2@/d", .host, "missing host"),
        ("postgresql://u:hunter2@:5432/d", .host, "missing host"),
        ("postgresql://u:hunter2@?x", .host, "missing host"),
        ("postgresql://u:hunter2@[]:1/d", .host, "missing host"),
        ("postgresql://u:hunter2@[::1/d", .host, "IPv6"),
        ("postgresql://u:hunter2@[::1]x/d", .host, "IPv6"),
        ("postgresql://u:hunter2@[host]/d", .host, "IPv6"),
        ("postgresql://u:hunter2@h]/d", .host, "bracket"),
        ("postgresql://u:hunter2@h x/d", .host, "space"),
        ("postgresql://u:hunter2@h%zz/d", .host, "percent-encoding"),
        ("postgresql://u:hunter2@a,b/d", .host, "list of hosts"),
        ("postgresql://u:hunter2@h:/d", .port, "port"),
        ("postgresql://u:hunter2@h:port/d", .port, "port"),
        ("postgresql://u:hunter2@h:0/d", .port, "port"),
        ("postgresql://u:hunter2@h:65536/d", .port, "port"),
        ("postgresql://u:hunter2@h:+5/d", .port, "port"),
        ("postgresql://u:hunter2@h:-5/d", .port, "port"),
        ("postgresql://u:hunter2@h:99999999999999999999999/d", .port, "port"),
        ("postgresql://u:hunter2@h:5432 /d", .port, "port"),
        ("postgresql://u:hunter2@[::1]:x/d", .port, "port"),
        ("postgresql://u%zz:hunter2@h/d", .user, "user name"),
        ("postgresql://u:hunter2%zz@h/d", .password, "password"),
        ("postgresql://u:hunter2%4@h/d", .password, "password"),
        ("postgresql://u:hunter2%FF@h/d", .password, "password"),
        ("postgresql://u:hunter2@h/d%zz", .path, "path"),
    ])
    func rejects(url: String, component: ServiceURLError.Component, reason: String) {
        let error = #expect(throws: ServiceURLError.self) { try parse(url) }
        #expect(error?.component == component)
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error?.reason)) should say \(reason)")
        #expect(error.map { !"\($0)".contains("hunter2") && !$0.reason.contains("hunter2") } == true)
    }

    @Test func hostListErrors() {
        for url in ["postgresql://a,,b/d", "postgresql://,a/d", "postgresql://a,/d"] {
            let error = #expect(throws: ServiceURLError.self) { try parse(url, hostList: true) }
            #expect(error?.reason == "empty host in the host list")
        }
        let error = #expect(throws: ServiceURLError.self) { try parse("postgresql://a,b:x/d", hostList: true) }
        #expect(error?.component == .port)
    }

    @Test func errorsNeverQuoteThePassword() {
        let secret = "Sup3r-S3cret"
        let urls = [
            "http://u:\(secret)@h/d", "postgresql://u:\(secret)@h:\(secret)/d", "postgresql://u:\(secret)%@h/d",
            "postgresql://u:\(secret)@[\(secret)/d", "postgresql://u:\(secret)@\(secret)%/d",
            "postgresql://u:\(secret)@h/\(secret)%", "\(secret)", "postgresql://u:\(secret)@h:1:2/d",
        ]
        for url in urls {
            let error = #expect(throws: ServiceURLError.self) { try parse(url) }
            #expect(
                error.map { !"\($0)".contains(secret) && !String(reflecting: $0).contains(secret) } == true,
                "\(url)"
            )
        }
    }

    // MARK: - Showing a URL

    @Test func descriptionsAndDumpsLeaveThePasswordOut() throws {
        let url = try parse("postgresql://fleet:hunter2@[::1]:6000/jobs?password=hunter2#hunter2")
        #expect(url.description == "postgresql://fleet:***@[::1]:6000/jobs")
        var dumped = ""
        dump(url, to: &dumped)
        for text in [url.description, String(reflecting: url), "\(url)", dumped] {
            #expect(!text.contains("hunter2"), "password leaked in \(text)")
        }
        #expect(try parse("postgresql://fleet@h").description == "postgresql://fleet@h:5432")
        #expect(try parse("postgresql://h/").description == "postgresql://h:5432/")
    }

    @Test func percentDecoding() {
        #expect(ServiceURL.percentDecoded("a%20b%2f%2F") == "a b//")
        #expect(ServiceURL.percentDecoded("%E6%97%A5%E6%9C%AC") == "日本")
        #expect(ServiceURL.percentDecoded("plain") == "plain")
        #expect(ServiceURL.percentDecoded("") == "")
        #expect(ServiceURL.percentDecoded("%") == nil)
        #expect(ServiceURL.percentDecoded("%4") == nil)
        #expect(ServiceURL.percentDecoded("%g0") == nil)
        #expect(ServiceURL.percentDecoded("%C3") == nil, "a truncated UTF-8 sequence")
        #expect(ServiceURL.percentDecoded("%00") == "\u{0}")
    }

    @Test func queryItems() throws {
        let url = try parse("postgresql://u:p@h/d?sslmode=require&&options=-c%20a%3Db&empty=&plus=a+b")
        let items = try url.queryItems()
        #expect(items.map(\.name) == ["sslmode", "options", "empty", "plus"])
        #expect(items.map(\.value) == ["require", "-c a=b", "", "a+b"])
        #expect(try parse("postgresql://h/d").queryItems().isEmpty)
        for bad in ["postgresql://h/d?novalue", "postgresql://h/d?=x", "postgresql://h/d?a=%zzsecret"] {
            let error = #expect(throws: ServiceURLError.self) { try parse(bad).queryItems() }
            #expect(error?.component == .query)
            #expect(error.map { !$0.reason.contains("secret") } == true)
        }
    }
}
