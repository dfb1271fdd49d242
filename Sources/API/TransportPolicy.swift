import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether a client may send its bearer token to a coordinator URL, decided before any connection.
///
/// The rule (docs/operations.md, "Tokens and transport"):
/// - `https://` is always allowed (the token travels inside TLS);
/// - `http://` is allowed only to a loopback address (127.0.0.0/8, ::1, the name `localhost`) or to
///   an address inside a network the operator declares trusted (`--trusted-network CIDR`: an
///   encrypted overlay such as WireGuard or Tailscale, whose packets are already encrypted);
/// - a host name other than `localhost` is resolved (getaddrinfo) and allowed only when *every*
///   address it resolves to is loopback or trusted; one that does not resolve is refused;
/// - `--insecure` allows anything, with a warning.
public struct TransportPolicy: Sendable {
    public var trusted: [CIDR]
    public var insecure: Bool

    public init(trusted: [CIDR] = [], insecure: Bool = false) {
        self.trusted = trusted
        self.insecure = insecure
    }

    /// Why a URL is allowed, for a log line.
    public enum Verdict: Sendable, Equatable, CustomStringConvertible {
        case tls, loopback, trusted(IPAddress, CIDR), insecure
        public var description: String {
            switch self {
            case .tls: return "https"
            case .loopback: return "plain http to a loopback address"
            case .trusted(let a, let n): return "plain http to \(a), inside the trusted network \(n)"
            case .insecure: return "plain http allowed by --insecure: the token travels in clear"
            }
        }
    }

    public struct Refusal: Error, CustomStringConvertible, Sendable, Equatable {
        public var url: String
        public var why: String
        public var description: String {
            "refusing to send the token in clear to \(url): \(why). Anyone on the path could read it and run code on the cooperative's machines. "
                + "Do one of: use https:// (TLS in front of the coordinator, e.g. Caddy; see docs/operations.md); "
                + "if this address is on an encrypted overlay network, declare it with --trusted-network CIDR "
                + "(e.g. --trusted-network 100.64.0.0/10 for Tailscale, or your WireGuard subnet); "
                + "or pass --insecure to send it anyway."
        }
    }

    /// Resolves a host name to its addresses (nil when it does not resolve).
    public typealias Resolver = @Sendable (String) -> [IPAddress]?

    /// Decides for `url`. `resolve` is called only for a host name other than `localhost` on plain http.
    public func check(_ url: URL, resolve: Resolver = TransportPolicy.getaddrinfoResolver) throws -> Verdict {
        do { return try strictCheck(url, resolve: resolve) } catch let r as Refusal {
            if insecure && (url.scheme ?? "").lowercased() == "http" { return .insecure }
            throw r
        }
    }

    func strictCheck(_ url: URL, resolve: Resolver) throws -> Verdict {
        let scheme = (url.scheme ?? "").lowercased()
        let shown = url.absoluteString
        if scheme == "https" { return .tls }
        guard scheme == "http" else {
            throw Refusal(url: shown, why: "'\(scheme)' is not a scheme the client speaks (use http:// or https://)")
        }
        guard var host = url.host, !host.isEmpty else { throw Refusal(url: shown, why: "the URL names no host") }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if let ip = IPAddress(host) { return try verdict(for: ip, url: shown, via: nil) }
        let name = host.lowercased().hasSuffix(".") ? String(host.lowercased().dropLast()) : host.lowercased()
        if name == "localhost" { return .loopback }
        guard let addrs = resolve(host), !addrs.isEmpty else {
            throw Refusal(url: shown, why: "plain http to the host name \(host), which does not resolve here, so it cannot be checked to be loopback or in a trusted network")
        }
        // Every address must pass: the connection may use any of them.
        let verdicts = try addrs.map { try verdict(for: $0, url: shown, via: host) }
        return verdicts.first { if case .trusted = $0 { return true } else { return false } } ?? verdicts[0]
    }

    func verdict(for ip: IPAddress, url: String, via host: String?) throws -> Verdict {
        if ip.isLoopback { return .loopback }
        if let n = trusted.first(where: { $0.contains(ip) }) { return .trusted(ip, n) }
        let nets = trusted.isEmpty ? "no --trusted-network was given" : "the trusted networks are \(trusted.map(\.description).joined(separator: ", "))"
        let what = host.map { "the host name \($0) resolves to \(ip)" } ?? "\(ip) is the address"
        throw Refusal(url: url, why: "plain http, and \(what), which is neither loopback nor in a trusted network (\(nets))")
    }

    /// getaddrinfo, TCP addresses only. Resolving a name may send a DNS query; literal addresses
    /// and `localhost` never get here.
    public static let getaddrinfoResolver: Resolver = { host in
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &res) == 0, let first = res else { return nil }
        defer { freeaddrinfo(first) }
        var out: [IPAddress] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p {
            if let sa = ai.pointee.ai_addr {
                if ai.pointee.ai_family == AF_INET {
                    let a = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                    out.append(IPAddress(bytes: withUnsafeBytes(of: a) { Array($0) }))
                } else if ai.pointee.ai_family == AF_INET6 {
                    let a = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    out.append(IPAddress(bytes: withUnsafeBytes(of: a) { Array($0) }))
                }
            }
            p = ai.pointee.ai_next
        }
        return out.isEmpty ? nil : Array(Set(out)).sorted { $0.description < $1.description }
    }
}
