import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address as its network-order bytes (4 or 16). IPv4-mapped IPv6 addresses
/// (`::ffff:a.b.c.d`) are taken as the IPv4 address they carry, so one rule covers both spellings.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]
    public var isV4: Bool { bytes.count == 4 }

    /// Parses a literal address: `192.0.2.1`, `::1`, `[::1]`, `fe80::1%eth0` (the zone is ignored).
    /// Nil for anything else, hostnames included. Uses `inet_pton`, so it never touches the network.
    public init?(_ text: String) {
        var t = text
        if t.hasPrefix("[") && t.hasSuffix("]") { t = String(t.dropFirst().dropLast()) }
        if let pct = t.firstIndex(of: "%") { t = String(t[..<pct]) }
        guard !t.isEmpty else { return nil }
        var v4 = in_addr()
        if t.withCString({ inet_pton(AF_INET, $0, &v4) }) == 1 {
            self.init(bytes: withUnsafeBytes(of: v4.s_addr) { Array($0) })
            return
        }
        var v6 = in6_addr()
        if t.withCString({ inet_pton(AF_INET6, $0, &v6) }) == 1 {
            self.init(bytes: withUnsafeBytes(of: v6) { Array($0) })
            return
        }
        return nil
    }

    public init(bytes b: [UInt8]) {
        precondition(b.count == 4 || b.count == 16, "an IP address has 4 or 16 bytes")
        if b.count == 16 && b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {
            bytes = Array(b[12..<16])
        } else {
            bytes = b
        }
    }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        isV4 ? bytes[0] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1]
    }

    public var description: String {
        if isV4 { return bytes.map(String.init).joined(separator: ".") }
        var a = in6_addr()
        withUnsafeMutableBytes(of: &a) { $0.copyBytes(from: bytes) }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count)) != nil else { return "?" }
        return String(cString: buf)
    }
}

/// A network in CIDR notation, `100.64.0.0/10` or `fd7a:115c:a1e0::/48`; a bare address is a
/// network of one (/32 or /128). Membership compares the first `prefix` bits: O(1).
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    public let prefix: Int

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case notCIDR(String), prefixTooLong(String, max: Int)
        public var description: String {
            switch self {
            case .notCIDR(let s):
                return "'\(s)' is not a network in CIDR notation: write ADDRESS/PREFIX, e.g. 100.64.0.0/10 (Tailscale) or fd7a:115c:a1e0::/48"
            case .prefixTooLong(let s, let max):
                return "'\(s)': the prefix length must be between 0 and \(max)"
            }
        }
    }

    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        let parts = t.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let addr = IPAddress(String(parts[0])) else { throw ParseError.notCIDR(text) }
        let maxBits = addr.bytes.count * 8
        var p = maxBits
        if parts.count == 2 {
            guard let n = Int(parts[1]), parts[1].allSatisfy(\.isNumber) else { throw ParseError.notCIDR(text) }
            // An IPv4-mapped IPv6 network is written with a /96+ prefix; count it as IPv4.
            let given = String(parts[0]).contains(":") && addr.isV4 ? n - 96 : n
            guard given >= 0 && given <= maxBits else { throw ParseError.prefixTooLong(text, max: String(parts[0]).contains(":") ? 128 : 32) }
            p = given
        }
        network = addr
        prefix = p
    }

    /// Whether `a` lies in this network (an IPv4 address is never in an IPv6 network and back).
    public func contains(_ a: IPAddress) -> Bool {
        guard a.bytes.count == network.bytes.count else { return false }
        var bits = prefix
        for i in 0..<a.bytes.count where bits > 0 {
            let take = min(8, bits)
            let mask: UInt8 = take == 8 ? 0xff : ~(0xff >> UInt8(take))
            if a.bytes[i] & mask != network.bytes[i] & mask { return false }
            bits -= take
        }
        return true
    }

    public var description: String { "\(network)/\(prefix)" }
}
