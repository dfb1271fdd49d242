import ArgumentParser
import Foundation
import API
import Server

/// `--coordinator URL --token T [--config FILE]`, shared by the worker and the submitter commands.
/// Each falls back to DEBORGEN_URL / DEBORGEN_TOKEN, then to ~/.config/deborgen/config.json.
struct ConnectionOptions: ParsableArguments {
    @Option(name: [.customLong("coordinator"), .customLong("url")],
            help: ArgumentHelp("Coordinator URL, e.g. http://127.0.0.1:8080 (else $DEBORGEN_URL, else the config file).", valueName: "url"))
    var coordinator: String?

    @Option(help: ArgumentHelp("API token (else $DEBORGEN_TOKEN, else the config file).", valueName: "token"))
    var token: String?

    @Option(help: ArgumentHelp("Config file with {\"url\": ..., \"token\": ...} (default ~/.config/deborgen/config.json).", valueName: "file"))
    var config: String?

    @Option(name: .customLong("trusted-network"),
            help: ArgumentHelp("A network whose plain-http traffic is already protected (an overlay such as Tailscale 100.64.0.0/10 or a WireGuard subnet); repeatable; IPv4 or IPv6 CIDR (also $DEBORGEN_TRUSTED_NETWORKS, comma-separated). Without it, the token is sent over http:// only to loopback.", valueName: "cidr"), transform: CIDR.parse)
    var trustedNetworks: [CIDR] = []

    @Flag(help: "Send the token over plain http:// to any address (it travels in clear).")
    var insecure = false

    /// The transport rule from the flags and $DEBORGEN_TRUSTED_NETWORKS.
    func transportPolicy(environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> TransportPolicy {
        let fromEnv = (env["DEBORGEN_TRUSTED_NETWORKS"] ?? "").split(separator: ",").map(String.init)
        var nets = trustedNetworks
        for t in fromEnv where !t.trimmingCharacters(in: .whitespaces).isEmpty {
            do { nets.append(try CIDR(parsing: t)) } catch { throw ValidationError("DEBORGEN_TRUSTED_NETWORKS: \(error)") }
        }
        return TransportPolicy(trusted: nets, insecure: insecure)
    }

    /// The client, after checking (before any connection) that its token may travel to that URL.
    func client() throws -> CoordinatorClient { try checkedClient().client }

    /// The client and why its URL was allowed (for the worker's log).
    func checkedClient() throws -> (client: CoordinatorClient, verdict: TransportPolicy.Verdict) {
        let policy = try transportPolicy()
        let client: CoordinatorClient
        do {
            let c = try ClientConfig.load(flagURL: coordinator, flagToken: token, configPath: config)
            client = try CoordinatorClient(url: c.url, token: c.token)
        } catch let e as ClientConfig.Problem {
            throw CLIError("\(e)")
        }
        do {
            let v = try policy.check(client.baseURL)
            if v == .insecure {
                warn("warning: --insecure: the token is sent to \(client.baseURL.absoluteString) over plain http, readable by anyone on the path")
            }
            return (client, v)
        } catch let r as TransportPolicy.Refusal {
            throw CLIError("\(r)")
        }
    }
}

/// An error for the command line: printed as is, exit status 1 (ArgumentParser adds no usage text).
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ s: String) { description = s }
}

/// Runs `body`, turning client errors into one-line messages that say what to do next.
func withClientErrors<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch let e as ClientError {
        throw CLIError("\(e)")
    }
}

/// Prints rows as aligned columns (header first). The last column is not padded.
func printTable(_ header: [String], _ rows: [[String]]) {
    let all = [header] + rows
    var widths = [Int](repeating: 0, count: header.count)
    for r in all { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    for r in all {
        let line = r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
        print(line.joined(separator: "  "))
    }
}

/// "3.2s", "4m05s", "2h10m", "3d4h".
func formatDuration(_ s: Double) -> String {
    if s < 0 { return "-" }
    if s < 60 { return String(format: s < 10 ? "%.1fs" : "%.0fs", s) }
    let t = Int(s)
    if t < 3600 { return String(format: "%dm%02ds", t / 60, t % 60) }
    if t < 86400 { return String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) }
    return "\(t / 86400)d\((t % 86400) / 3600)h"
}

/// How long ago an RFC 3339 time was, or "-".
func ago(_ rfc: String?, now: Date = Date()) -> String {
    guard let rfc, let d = V1.parseRFC3339(rfc) else { return "-" }
    return formatDuration(now.timeIntervalSince(d)) + " ago"
}

/// Seconds between two RFC 3339 times (the second defaulting to now).
func span(_ from: String?, _ to: String?, now: Date = Date()) -> Double? {
    guard let from, let a = V1.parseRFC3339(from) else { return nil }
    let b = to.flatMap { V1.parseRFC3339($0) } ?? now
    return b.timeIntervalSince(a)
}

/// A shell-like rendering of an argv for tables and messages.
func shellQuote(_ argv: [String]) -> String {
    argv.map { a in
        if !a.isEmpty && a.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }) { return a }
        return "'" + a.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }.joined(separator: " ")
}

func writeStdout(_ d: Data) { FileHandle.standardOutput.write(d) }

func jsonString<T: Encodable>(_ v: T) -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? e.encode(v)) ?? Data(), as: UTF8.self)
}
