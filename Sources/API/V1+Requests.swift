import Foundation
import Policies

// The request bodies of the API (docs/api.md). A client builds them and the `WireEncoder` writes
// them; the coordinator decodes them with `decodeRequest`, and their `init(from:)` is the API's
// validation: every field read by name with its type, length and range, unknown fields refused,
// each refusal an `APIError` naming the field. Absent and null fields stay nil here; the
// coordinator fills its defaults (`JobSpec(_:)`).

extension V1 {
    /// The label a node offers when it can run a command without network, and that jobs with
    /// `isolate_network` require.
    public static let isolationLabel = "net-isolation"
    /// The label of a node whose worker runs jobs in containers, and that jobs naming an `image` require.
    public static let containerLabel = "container"

    static let namePattern = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:")

    static func checkLabel(_ l: String, _ field: String) throws {
        guard !l.isEmpty, l.count <= 64, l.allSatisfy({ namePattern.contains($0) }) else {
            throw APIError.invalid(field, "\(field): label '\(l)' must be 1–64 characters of [A-Za-z0-9._:-]")
        }
    }

    /// The body of `POST /v1/jobs`. Only `command` is required. Also the form the coordinator
    /// stores and hashes (for idempotent submits), with every field filled.
    public struct JobSubmission: Codable, Sendable, Equatable {
        public var name: String?
        public var command: [String]
        public var setup: [String]?
        public var isolateNetwork: Bool?
        /// A container image to run in (podman or docker on the worker; never pulled there).
        public var image: String?
        public var env: [String: String]?
        public var resources: APIResources?
        public var labels: [String]?
        /// Whole seconds, at least 1 (the coordinator refuses fractions).
        public var timeoutS: Int?
        public var estimateS: Int?
        public var maxAttempts: Int?
        public var priority: Int?
        public var after: [Int]?
        public var fingerprint: String?

        public init(command: [String]) { self.command = command }

        enum CodingKeys: String, CodingKey {
            case name, command, setup, isolateNetwork = "isolate_network", image, env, resources, labels
            case timeoutS = "timeout_s", estimateS = "estimate_s", maxAttempts = "max_attempts"
            case priority, after, fingerprint
        }

        public init(from d: any Decoder) throws {
            var r = try FieldReader(d)
            guard let command = try r.strings("command", maxCount: 10_000, maxLength: 128 * 1024) else {
                throw APIError.invalid("command", "command is required: a non-empty array of strings (argv)")
            }
            guard !command.isEmpty, !command[0].isEmpty else { throw APIError.invalid("command", "command must be a non-empty argv array") }
            self.command = command
            name = try r.string("name", maxLength: 200)
            if let setup = try r.strings("setup", maxCount: 10_000, maxLength: 128 * 1024) {
                guard !setup.isEmpty, !setup[0].isEmpty else { throw APIError.invalid("setup", "setup must be a non-empty argv array or null") }
                self.setup = setup
            }
            isolateNetwork = try r.bool("isolate_network")
            if let image = try r.string("image", maxLength: 512) {
                if let why = ImageReference.problem(image) { throw APIError.invalid("image", why) }
                self.image = image
            }
            if let env = try r.stringMap("env") {
                for k in env.keys {
                    guard !k.isEmpty, k.count <= 256, !k.contains("="), k.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }),
                          !(k.first!.isNumber) else {
                        throw APIError.invalid("env.\(k)", "env key '\(k)' must be a variable name ([A-Za-z_][A-Za-z0-9_]*)")
                    }
                }
                self.env = env
            }
            if var res = try r.object("resources") {
                resources = APIResources(cpus: try res.int("cpus", in: 1...1_000_000) ?? 1,
                                         memoryMB: try res.int("memory_mb", in: 0...1_000_000_000) ?? 0,
                                         gpus: try res.int("gpus", in: 0...10_000) ?? 0)
                try res.finish()
            }
            if let labels = try r.strings("labels", maxCount: 64, maxLength: 64) {
                for (i, l) in labels.enumerated() { try checkLabel(l, "labels[\(i)]") }
                self.labels = labels
            }
            timeoutS = try r.int("timeout_s", in: 1...(366 * 86_400))
            estimateS = try r.int("estimate_s", in: 1...(366 * 86_400))
            maxAttempts = try r.int("max_attempts", in: 1...100)
            priority = try r.int("priority", in: -1_000_000...1_000_000)
            if let after = try r.ints("after", in: 1...Int(Int32.max), maxCount: 1000) {
                guard Set(after).count == after.count else { throw APIError.invalid("after", "after lists a job twice") }
                self.after = after
            }
            if let fp = try r.string("fingerprint", maxLength: 256) {
                guard !fp.isEmpty else { throw APIError.invalid("fingerprint", "fingerprint must not be empty") }
                fingerprint = fp
            }
            try r.finish()
        }
    }

    /// The body of `POST /v1/nodes`.
    public struct NodeRegistration: Codable, Sendable, Equatable {
        public var name: String
        public var cpus: Int
        public var memoryMB: Int
        public var gpus: Int
        public var os: String
        public var labels: [String]
        public var hours: String?
        public var canIsolateNetwork: Bool
        /// How the worker isolates and limits jobs, for people (`sandbox bwrap, cpu affinity 0-3, ...`).
        public var isolation: String?
        public init(name: String, cpus: Int, memoryMB: Int, gpus: Int, os: String, labels: [String], hours: String?, canIsolateNetwork: Bool,
                    isolation: String? = nil) {
            self.name = name; self.cpus = cpus; self.memoryMB = memoryMB; self.gpus = gpus; self.os = os
            self.labels = labels; self.hours = hours; self.canIsolateNetwork = canIsolateNetwork; self.isolation = isolation
        }
        enum CodingKeys: String, CodingKey {
            case name, cpus, memoryMB = "memory_mb", gpus, os, labels, hours, canIsolateNetwork = "can_isolate_network", isolation
        }

        public init(from d: any Decoder) throws {
            var r = try FieldReader(d)
            guard let name = try r.string("name", maxLength: 64) else { throw APIError.invalid("name", "name is required") }
            guard !name.isEmpty, name.allSatisfy({ namePattern.contains($0) && $0 != ":" }) else {
                throw APIError.invalid("name", "name must be 1–64 characters of [A-Za-z0-9._-]")
            }
            guard let cpus = try r.int("cpus", in: 1...1_000_000) else { throw APIError.invalid("cpus", "cpus is required (at least 1)") }
            self.name = name
            self.cpus = cpus
            memoryMB = try r.int("memory_mb", in: 0...1_000_000_000) ?? 0
            gpus = try r.int("gpus", in: 0...10_000) ?? 0
            os = try r.string("os", maxLength: 32) ?? ""
            if !os.isEmpty { try checkLabel(os, "os") }
            labels = try r.strings("labels", maxCount: 64, maxLength: 64) ?? []
            for (i, l) in labels.enumerated() { try checkLabel(l, "labels[\(i)]") }
            hours = try r.string("hours", maxLength: 32)
            if let h = hours, DailyHours(parsing: h) == nil {
                throw APIError.invalid("hours", "hours must be HH:MM-HH:MM in UTC (e.g. 18:00-08:00)")
            }
            canIsolateNetwork = try r.bool("can_isolate_network") ?? false
            isolation = try r.string("isolation", maxLength: 256)
            try r.finish()
        }
    }

    /// The body of `POST /v1/nodes/{id}/heartbeat` (the body may also be empty: nothing running).
    public struct HeartbeatBody: Codable, Sendable, Equatable {
        public var runningAttempts: [String]
        public init(runningAttempts: [String]) { self.runningAttempts = runningAttempts }
        enum CodingKeys: String, CodingKey { case runningAttempts = "running_attempts" }
        public init(from d: any Decoder) throws {
            var r = try FieldReader(d)
            runningAttempts = try r.strings("running_attempts", maxCount: 10_000, maxLength: 64) ?? []
            try r.finish()
        }
    }

    /// The body of POSTs that take none (cancel, drain, claim, renew): `{}`, empty or absent.
    public struct EmptyBody: Codable, Sendable, Equatable {
        public init() {}
        public init(from d: any Decoder) throws { try FieldReader(d).finish() }
        public func encode(to e: any Encoder) throws { _ = e.container(keyedBy: AnyKey.self) }
    }

    /// The body of `POST /v1/attempts/{aid}/result`; also the form the coordinator stores.
    public struct ResultReport: Codable, Sendable, Equatable {
        public static let outcomes = ["exited", "timeout", "memory_exceeded", "disk_exceeded", "error"]
        public var exitCode: Int?
        /// exited, timeout, memory_exceeded, disk_exceeded, error
        public var outcome: String
        public var wallS: Double?
        public var cpuS: Double?
        public var maxRssKB: Int?
        public var detail: String?
        enum CodingKeys: String, CodingKey {
            case exitCode = "exit_code", outcome, wallS = "wall_s", cpuS = "cpu_s", maxRssKB = "max_rss_kb", detail
        }
        public init(exitCode: Int?, outcome: String, wallS: Double?, cpuS: Double?, maxRssKB: Int?, detail: String?) {
            self.exitCode = exitCode; self.outcome = outcome; self.wallS = wallS; self.cpuS = cpuS
            self.maxRssKB = maxRssKB; self.detail = detail
        }

        public init(from d: any Decoder) throws {
            var r = try FieldReader(d)
            outcome = try r.string("outcome", maxLength: 16) ?? "exited"
            guard Self.outcomes.contains(outcome) else {
                throw APIError.invalid("outcome", "outcome must be exited, timeout, memory_exceeded, disk_exceeded or error")
            }
            exitCode = try r.int("exit_code", in: -255...255)
            if outcome == "exited" && exitCode == nil { throw APIError.invalid("exit_code", "exit_code is required when outcome is exited") }
            wallS = try r.double("wall_s")
            cpuS = try r.double("cpu_s")
            maxRssKB = try r.int("max_rss_kb", in: 0...Int(Int64.max / 2))
            detail = try r.string("detail", maxLength: 4096)
            try r.finish()
        }
    }
}
