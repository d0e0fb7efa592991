import FleetCore
import Foundation
import Testing

/// `fleet topology users`' generator: the users and permission regexes for the repository's
/// queues.yaml and workers/, and their two renderings.
@Suite("Broker users")
struct BrokerUsersTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    /// As `JobCatalog.followUpTypes` (FleetApp; the broker test uses that one).
    static let followUps = ["assessment.score": ["profile.completion.recalculate", "career.progress.recalculate"]]

    static func repositoryUsers() throws -> [BrokerUser] {
        let topology = try Topology.load(path: "\(repositoryRoot)/queues.yaml")
        let manifests = try WorkerManifest.loadAll(directory: "\(repositoryRoot)/workers", topology: topology)
        return BrokerUsers.plan(topology: topology, manifests: manifests, followUps: followUps)
    }

    @Test("Regex metacharacters in names are escaped and the alternation is anchored")
    func escaping() {
        #expect(BrokerUsers.escape("fleet.learning.retry.1s") == #"fleet\.learning\.retry\.1s"#)
        #expect(BrokerUsers.escape("a(b)|c*+?^$[]{}\\") == #"a\(b\)\|c\*\+\?\^\$\[\]\{\}\\"#)
        #expect(BrokerUsers.anchored(["jobs"]) == "^jobs$")
        #expect(BrokerUsers.anchored(["a.b", "c"]) == #"^(a\.b|c)$"#)
    }

    @Test("A worker reads only its queues, writes only its own copies and follow-up types, configures nothing")
    func workerPermissions() throws {
        let users = try Self.repositoryUsers()
        #expect(
            users.map(\.name) == [
                "fleet-worker-analytics", "fleet-worker-career", "fleet-worker-content", "fleet-worker-learning",
                "fleet-worker-networking", "fleet-worker-ops", "fleet-worker-profile", "fleet-worker-skills",
                "fleet-worker-trends", "fleet-producer", "fleet-operator",
            ]
        )
        let learning = try #require(users.first { $0.name == "fleet-worker-learning" })
        #expect(learning.configure == "^$")
        #expect(learning.write == #"^jobs\.copies$"#)
        #expect(learning.read == #"^fleet\.learning$"#)
        #expect(learning.topicWrite.keys.sorted() == ["jobs.copies"])
        #expect(learning.tags.isEmpty)
        // Its copies: its own DLQ and retry queues, and nothing else (not even its work queue).
        let copies = try Regex(try #require(learning.topicWrite["jobs.copies"]))
        for target in ["fleet.learning.dlq", "fleet.learning.retry.1s", "fleet.learning.retry.10m"] {
            #expect(try copies.wholeMatch(in: target) != nil, "\(target)")
        }
        for target in ["fleet.learning", "fleet.content.dlq", "fleet.learning.retry.3s", "fleet.learning.dlqx"] {
            #expect(try copies.firstMatch(in: target) == nil, "\(target)")
        }
        let skills = try #require(users.first { $0.name == "fleet-worker-skills" })
        #expect(skills.write == #"^(jobs\.copies|jobs)$"#)
        #expect(skills.read == #"^fleet\.skills$"#)
        #expect(
            skills.topicWrite == [
                "jobs": #"^(career\.progress\.recalculate|profile\.completion\.recalculate)$"#,
                "jobs.copies":
                    #"^(fleet\.skills\.dlq|fleet\.skills\.retry\.1s|fleet\.skills\.retry\.5s|fleet\.skills\.retry\.30s|fleet\.skills\.retry\.2m|fleet\.skills\.retry\.10m|amq\.fleet\.publish-probe)$"#,
            ]
        )
    }

    @Test("The producer writes only jobs, for the contract's types; the operator covers exactly the topology")
    func producerAndOperator() throws {
        let users = try Self.repositoryUsers()
        let producer = try #require(users.first { $0.name == "fleet-producer" })
        #expect(producer.configure == "^$" && producer.read == "^$")
        #expect(producer.write == "^jobs$")
        let types = try #require(producer.topicWrite["jobs"])
        let regex = try Regex(types)
        #expect(try regex.wholeMatch(in: "enrollment.update") != nil)
        #expect(try regex.wholeMatch(in: "backup.run") != nil)
        #expect(try regex.wholeMatch(in: "enrollmentXupdate") == nil)
        #expect(try regex.firstMatch(in: "event.register.extra") == nil)
        let operatorUser = try #require(users.first { $0.name == "fleet-operator" })
        #expect(operatorUser.tags == ["management"])
        let configure = try Regex(operatorUser.configure)
        for name in ["jobs", "jobs.dead", "jobs.copies", "fleet.ops", "fleet.ops.dlq", "fleet.ops.retry.10m"] {
            #expect(try configure.firstMatch(in: name) != nil, "\(name)")
        }
        for name in ["fleet.opsx", "other", "amq.default"] {
            #expect(try configure.firstMatch(in: name) == nil, "\(name)")
        }
        #expect(try Regex(operatorUser.write).firstMatch(in: "amq.default") != nil)
    }

    @Test("The rabbitmqctl script feeds passwords on standard input and quotes every argument")
    func rabbitmqctlScript() throws {
        let users = try Self.repositoryUsers().filter { ["fleet-worker-skills", "fleet-producer"].contains($0.name) }
        let script = BrokerUserOutput.rabbitmqctl(users, vhost: "/", passwordDirectory: "/run/secrets/broker")
        #expect(script == Self.skillsAndProducerScript)
        let required = BrokerUserOutput.rabbitmqctl(users, vhost: "it's", passwordDirectory: nil)
        #expect(required.contains(#": "${PASSWORD_DIR:?set PASSWORD_DIR to the folder of <user>.password files}""#))
        #expect(required.contains(#"VHOST='it'\''s'"#))
    }

    @Test("The definitions JSON has every user without a password, its permissions and topic permissions")
    func definitions() throws {
        let users = try Self.repositoryUsers()
        let text = try BrokerUserOutput.definitions(users, vhost: "fleet")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect((json["vhosts"] as? [[String: String]]) == [["name": "fleet"]])
        let definedUsers = try #require(json["users"] as? [[String: String]])
        #expect(definedUsers.map { $0["name"] } == users.map(\.name))
        #expect(definedUsers.allSatisfy { $0["password_hash"] == "" })
        let permissions = try #require(json["permissions"] as? [[String: String]])
        #expect(
            permissions.first { $0["user"] == "fleet-worker-learning" } == [
                "user": "fleet-worker-learning", "vhost": "fleet", "configure": "^$", "write": #"^jobs\.copies$"#,
                "read": #"^fleet\.learning$"#,
            ]
        )
        let topics = try #require(json["topic_permissions"] as? [[String: String]])
        // Every worker on the copies exchange; the skills worker and the producer on `jobs` too.
        let workers = users.map(\.name).filter { $0.hasPrefix("fleet-worker-") }
        #expect(topics.filter { $0["exchange"] == "jobs.copies" }.map { $0["user"] } == workers)
        #expect(
            topics.filter { $0["exchange"] == "jobs" }.map { $0["user"] } == ["fleet-worker-skills", "fleet-producer"]
        )
        #expect(topics.allSatisfy { $0["read"] == "^$" })
    }

    static let skillsAndProducerScript = #"""
        #!/bin/sh
        # WorkerFleet broker users, generated by `fleet topology users`.
        # Each password is read from $PASSWORD_DIR/<user>.password on rabbitmqctl's standard input,
        # never from a command line. Run as: RABBITMQCTL='rabbitmqctl -n NODE' sh THIS_FILE
        set -eu
        RABBITMQCTL=${RABBITMQCTL:-rabbitmqctl}
        PASSWORD_DIR=${PASSWORD_DIR:-'/run/secrets/broker'}
        VHOST='/'
        put_user() {
            if $RABBITMQCTL list_users --silent | cut -f1 | grep -qxF "$1"; then
                $RABBITMQCTL change_password "$1" <"$PASSWORD_DIR/$1.password"
            else
                $RABBITMQCTL add_user "$1" <"$PASSWORD_DIR/$1.password"
            fi
        }

        # worker skills: consume fleet.skills, enqueue career.progress.recalculate, profile.completion.recalculate
        put_user 'fleet-worker-skills'
        $RABBITMQCTL set_user_tags 'fleet-worker-skills'
        $RABBITMQCTL set_permissions -p "$VHOST" 'fleet-worker-skills' '^$' '^(jobs\.copies|jobs)$' '^fleet\.skills$'
        $RABBITMQCTL set_topic_permissions -p "$VHOST" 'fleet-worker-skills' 'jobs' '^(career\.progress\.recalculate|profile\.completion\.recalculate)$' '^$'
        $RABBITMQCTL set_topic_permissions -p "$VHOST" 'fleet-worker-skills' 'jobs.copies' '^(fleet\.skills\.dlq|fleet\.skills\.retry\.1s|fleet\.skills\.retry\.5s|fleet\.skills\.retry\.30s|fleet\.skills\.retry\.2m|fleet\.skills\.retry\.10m|amq\.fleet\.publish-probe)$' '^$'

        # API servers, fleet enqueue, the scheduler and the outbox relay: publish jobs only
        put_user 'fleet-producer'
        $RABBITMQCTL set_user_tags 'fleet-producer'
        $RABBITMQCTL set_permissions -p "$VHOST" 'fleet-producer' '^$' '^jobs$' '^$'
        $RABBITMQCTL set_topic_permissions -p "$VHOST" 'fleet-producer' 'jobs' '^(analytics\.activity\.record|assessment\.score|backup\.run|backup\.verify|career\.progress\.recalculate|content\.publish|content\.unpublish|enrollment\.update|event\.cancel|event\.register|jobmarket\.trend\.ingest|maintenance\.run|mentorship\.session_logged|mentorship\.start|profile\.completion\.recalculate)$' '^$'

        """#
}
