import Foundation
import Testing

@testable import FleetDashboard

@Suite("Admin sessions and CSRF")
struct AdminSessionsTests {
    @Test("without a token nothing logs in and no action is allowed")
    func readOnly() {
        let sessions = AdminSessions(token: nil)
        #expect(!sessions.actionsEnabled)
        #expect(sessions.login(presented: "") == nil)
        #expect(!AdminSessions(token: "  \n").actionsEnabled)
    }

    @Test("the right token opens a session; a wrong one, a prefix or a longer one does not")
    func login() {
        let sessions = AdminSessions(token: "s3cret-token\n")
        #expect(sessions.login(presented: "s3cret") == nil)
        #expect(sessions.login(presented: "s3cret-token-x") == nil)
        let session = sessions.login(presented: "s3cret-token")
        #expect(session != nil)
        #expect(sessions.isValid(session))
        #expect(!sessions.isValid("forged"))
        #expect(session?.count == 64)
    }

    @Test("a CSRF token is accepted only with its own live session")
    func csrf() throws {
        let sessions = AdminSessions(token: "t")
        let first = try #require(sessions.login(presented: "t"))
        let second = try #require(sessions.login(presented: "t"))
        let token = sessions.csrfToken(for: first)
        #expect(sessions.checkCSRF(session: first, presented: token))
        #expect(!sessions.checkCSRF(session: first, presented: nil))
        #expect(!sessions.checkCSRF(session: first, presented: ""))
        #expect(!sessions.checkCSRF(session: second, presented: token))
        #expect(!sessions.checkCSRF(session: nil, presented: token))
        sessions.logout(first)
        #expect(!sessions.checkCSRF(session: first, presented: token))
    }

    @Test("sessions expire")
    func expiry() throws {
        let sessions = AdminSessions(token: "t", lifetime: 60)
        let now = Date()
        let session = try #require(sessions.login(presented: "t", now: now))
        #expect(sessions.isValid(session, now: now.addingTimeInterval(59)))
        #expect(!sessions.isValid(session, now: now.addingTimeInterval(61)))
    }

    @Test("the action log names a session prefix only")
    func actor() {
        #expect(AdminSessions.actor("0123456789abcdef") == "session:01234567")
    }
}
