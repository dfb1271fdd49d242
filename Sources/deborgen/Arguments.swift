import ArgumentParser
import Bench
import ILP
import Policies
import API
import Server
import Worker
import Sim

// Command-line values as types (issue 16): every option whose string is read from a finite set
// or by a grammar has a type here, so a bad value is refused while the command line is parsed,
// with a message that names the value and says what is accepted.
//
// Finite sets are `CaseIterable` (ArgumentParser lists them in --help and in the error).
// Grammars are `GrammarArgument`s: options declare them with `transform: T.parse`, because
// `init?(argument:)` can only return nil, and ArgumentParser shows the thrown error after
// "The value 'X' is invalid for '--option <value>': ". (With a transform ArgumentParser shows no
// default in --help, so those options' help texts say it.)

/// A value read by a grammar. `parse` throws an error whose description names the value and
/// says what is accepted; `init?(argument:)` is the same parse without the message.
protocol GrammarArgument: ExpressibleByArgument {
    static func parse(_ text: String) throws -> Self
}

extension GrammarArgument {
    init?(argument: String) {
        guard let v = try? Self.parse(argument) else { return nil }
        self = v
    }
}

/// Why a command-line value was refused (shown after ArgumentParser's "The value ... is invalid").
struct ArgumentValueError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Finite sets

/// `token create --role`: admin, submitter, worker or reader.
extension Role: ExpressibleByArgument {}

/// `jobs --state`: queued, running, succeeded, failed or cancelled.
extension JobState: ExpressibleByArgument {}

/// `--ilp-objective`: throughput, fairness, energy or combined (any case, as in a policy name).
extension ILPObjective: ExpressibleByArgument {
    public init?(argument: String) {
        guard let o = try? ILPOptions.parseObjective(argument) else { return nil }
        self = o
    }
}

/// `--sync` of `coordinator` and `bench coordinator`: SQLite's synchronous mode.
enum SyncMode: String, CaseIterable, ExpressibleByArgument {
    /// fsync at every commit.
    case full
    /// WAL without fsync at commit: survives a killed process, not a power loss.
    case normal

    var durable: Bool { self == .full }
}

/// `workload generate --model`.
enum WorkloadModel: String, CaseIterable, ExpressibleByArgument {
    /// Poisson arrivals, log-uniform runtimes.
    case poisson
    /// Lublin–Feitelson 2003.
    case lublin
}

// MARK: - Policies

/// A policy name that `PolicyCatalog.make` accepts (`--policy`, `--live-policy`, ...); the text as
/// given, which the command turns into a policy with its own options.
struct PolicyName: GrammarArgument, CustomStringConvertible, Hashable {
    let text: String
    var description: String { text }

    static func parse(_ text: String) throws -> PolicyName {
        do { _ = try PolicyCatalog.make(text) } catch { throw ArgumentValueError(error.message) }
        return PolicyName(text: text)
    }
}

/// `--ilp-fallback`: a heuristic (non-ILP) policy, as `ILPOptions.validate` requires.
struct HeuristicPolicyName: GrammarArgument, CustomStringConvertible {
    let text: String
    var description: String { text }

    static func parse(_ text: String) throws -> HeuristicPolicyName {
        var o = ILPOptions()
        o.fallback = text
        do { try o.validate() } catch { throw ArgumentValueError(error.message) }
        return HeuristicPolicyName(text: text)
    }
}

/// `--ilp-weights`: `fairness=X,energy=Y` on top of the objective's weights.
struct ILPWeights: GrammarArgument, CustomStringConvertible {
    let text: String
    var description: String { text }

    static func parse(_ text: String) throws -> ILPWeights {
        var o = ILPOptions()
        do { try o.applyWeights(text) } catch { throw ArgumentValueError(error.message) }
        return ILPWeights(text: text)
    }
}

// MARK: - Durations

/// `--half-life`: a duration of `Time.parseDuration` (`90s`, `15m`, `12h`, `7d`, `1.5h`; a plain
/// number is seconds), or `none` for no decay.
struct HalfLife: GrammarArgument, CustomStringConvertible {
    let text: String
    /// nil: no decay.
    let micros: Micros?
    var description: String { text }

    static func parse(_ text: String) throws -> HalfLife {
        if text == "none" { return HalfLife(text: text, micros: nil) }
        guard let m = Time.parseDuration(text) else {
            throw ArgumentValueError("'\(text)' is not a half-life: write a duration such as 90s, 15m, 12h, 7d or 1.5h (a plain number is seconds), or none for no decay")
        }
        return HalfLife(text: text, micros: m)
    }
}

/// `--ilp-aging`: a positive duration of `Time.parseDuration`.
struct PositiveDuration: GrammarArgument, CustomStringConvertible {
    let text: String
    let micros: Micros
    var description: String { text }

    static func parse(_ text: String) throws -> PositiveDuration {
        guard let m = Time.parseDuration(text), m > 0 else {
            throw ArgumentValueError("'\(text)' is not a positive duration: write e.g. 90s, 30m, 1h or 7d (a plain number is seconds)")
        }
        return PositiveDuration(text: text, micros: m)
    }
}

/// `submit`'s durations, as the submitter's `parseDuration` reads them (`90`, `500ms`, `30s`,
/// `10m`, `2h`, `1d`, `1:30:00`): `parse` allows 0 (`--retry-for`), `parsePositive` wants more
/// than 0 (`--timeout`, `--estimate`).
struct Seconds: GrammarArgument, CustomStringConvertible {
    let text: String
    let seconds: Double
    var description: String { text }

    /// Whole seconds, rounded up (the API takes whole seconds).
    var wholeSeconds: Int { Int(seconds.rounded(.up)) }

    static func parse(_ text: String) throws -> Seconds {
        guard let s = parseDuration(text), s >= 0 else {
            throw ArgumentValueError("'\(text)' is not a duration: write seconds (0, 90), 500ms, 30s, 10m, 2h, 1d, or h:mm:ss")
        }
        return Seconds(text: text, seconds: s)
    }

    static func parsePositive(_ text: String) throws -> Seconds {
        guard let s = parseDuration(text), s > 0 else {
            throw ArgumentValueError("'\(text)' is not a positive duration: write seconds (90), 500ms, 30s, 10m, 2h, 1d, or h:mm:ss (1:30:00)")
        }
        return Seconds(text: text, seconds: s)
    }
}

// MARK: - Grammars of other modules

/// `bench run --shard I/N`.
extension ShardSpec: ExpressibleByArgument, GrammarArgument {
    static func parse(_ text: String) throws -> ShardSpec { try ShardSpec(parsing: text) }
    public init?(argument: String) { guard let v = try? Self.parse(argument) else { return nil }; self = v }
}

/// `worker --hours 18:00-08:00` (windows of local time, comma-separated).
extension WorkHours: ExpressibleByArgument, GrammarArgument {
    static func parse(_ text: String) throws -> WorkHours { try WorkHours(parsing: text) }
    public init?(argument: String) { guard let v = try? Self.parse(argument) else { return nil }; self = v }
}

/// `submit --array 1-100`, `0-99:5`, `1,4,9`.
extension ArraySpec: ExpressibleByArgument, GrammarArgument {
    static func parse(_ text: String) throws -> ArraySpec { try ArraySpec(parsing: text) }
    public init?(argument: String) { guard let v = try? Self.parse(argument) else { return nil }; self = v }
}

/// `--trusted-network 100.64.0.0/10` (IPv4 or IPv6 CIDR).
extension CIDR: ExpressibleByArgument, GrammarArgument {
    static func parse(_ text: String) throws -> CIDR { try CIDR(parsing: text) }
    public init?(argument: String) { guard let v = try? Self.parse(argument) else { return nil }; self = v }
}

// MARK: - Small grammars of the submitter

/// `submit --env KEY=VALUE`.
struct EnvVariable: GrammarArgument {
    let key: String
    let value: String

    static func parse(_ text: String) throws -> EnvVariable {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw ArgumentValueError("'\(text)' is not KEY=VALUE")
        }
        return EnvVariable(key: String(text[..<eq]), value: String(text[text.index(after: eq)...]))
    }
}

/// `submit --image`: a container image reference as `ImageReference` checks it.
struct ImageName: GrammarArgument, CustomStringConvertible {
    let text: String
    var description: String { text }

    static func parse(_ text: String) throws -> ImageName {
        if let why = ImageReference.problem(text) { throw ArgumentValueError(why) }
        return ImageName(text: text)
    }
}

/// `submit --idempotency-key`: 1 to 200 printable ASCII characters without spaces.
struct IdempotencyKey: GrammarArgument, CustomStringConvertible {
    let text: String
    var description: String { text }

    static func parse(_ text: String) throws -> IdempotencyKey {
        guard !text.isEmpty, text.count <= 200, text.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7e }) else {
            throw ArgumentValueError("an Idempotency-Key is 1 to 200 printable ASCII characters without spaces")
        }
        return IdempotencyKey(text: text)
    }
}

/// `token create --name`: 1–64 characters of [A-Za-z0-9._@-].
struct TokenName: GrammarArgument, CustomStringConvertible {
    let text: String
    var description: String { text }

    static func parse(_ text: String) throws -> TokenName {
        guard !text.isEmpty, text.count <= 64, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-@".contains($0)) }) else {
            throw ArgumentValueError("a token name is 1–64 characters of [A-Za-z0-9._@-]")
        }
        return TokenName(text: text)
    }
}

// MARK: - Benchmarks

/// `bench ilp --sizes 20x8,35x12`: batch sizes, JOBSxNODES, comma-separated.
struct BatchSizes: GrammarArgument, CustomStringConvertible {
    let text: String
    let sizes: [(jobs: Int, nodes: Int)]
    var description: String { text }

    static func parse(_ text: String) throws -> BatchSizes {
        let sizes = try text.split(separator: ",").map { s in
            let p = s.lowercased().split(separator: "x").compactMap { Int($0) }
            guard p.count == 2, p[0] > 0, p[1] > 0 else { throw ArgumentValueError("'\(s)' is not JOBSxNODES, e.g. 100x32") }
            return (jobs: p[0], nodes: p[1])
        }
        return BatchSizes(text: text, sizes: sizes)
    }
}
