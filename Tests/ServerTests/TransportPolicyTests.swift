import Foundation
import Testing
@testable import API

@Suite("Trusted networks and the token-in-clear rule")
struct TransportPolicyTests {
    @Test(arguments: [
        ("100.64.0.0/10", "100.64.0.1", true), ("100.64.0.0/10", "100.127.255.255", true),
        ("100.64.0.0/10", "100.128.0.0", false), ("100.64.0.0/10", "100.63.255.255", false),
        ("192.0.2.0/24", "192.0.2.1", true), ("192.0.2.0/24", "192.0.3.1", false),
        ("10.0.0.0/8", "10.255.0.1", true), ("0.0.0.0/0", "8.8.8.8", true),
        ("192.0.2.7", "192.0.2.7", true), ("192.0.2.7", "192.0.2.8", false),
        ("192.0.2.6/31", "192.0.2.7", true), ("192.0.2.6/31", "192.0.2.8", false),
        ("fd7a:115c:a1e0::/48", "fd7a:115c:a1e0:ab12::1", true), ("fd7a:115c:a1e0::/48", "fd7a:115c:a1e1::1", false),
        ("2001:db8::/32", "2001:db8:ffff::1", true), ("2001:db8::/33", "2001:db8:8000::1", false),
        ("::/0", "::1", true),
        // IPv4 never matches an IPv6 network and back; an IPv4-mapped address counts as IPv4.
        ("::/0", "192.0.2.1", false), ("0.0.0.0/0", "2001:db8::1", false),
        ("192.0.2.0/24", "::ffff:192.0.2.9", true), ("::ffff:192.0.2.0/120", "192.0.2.9", true),
    ])
    func membership(network: String, address: String, expected: Bool) throws {
        let n = try CIDR(parsing: network)
        let a = try #require(IPAddress(address))
        #expect(n.contains(a) == expected, "\(address) in \(network)")
    }

    @Test(arguments: ["", "100.64.0.0/", "100.64.0.0/33", "100.64.0.0/-1", "100.64.0.0/x", "example.com/24",
                      "2001:db8::/129", "256.1.1.1/8", "10.0.0.0/8/8", "/8"])
    func badNetworksAreRefusedWithTheirText(text: String) {
        #expect(throws: CIDR.ParseError.self) { try CIDR(parsing: text) }
        do { _ = try CIDR(parsing: text) } catch { #expect("\(error)".contains("'\(text)'")) }
    }

    @Test func loopbackAndLiterals() throws {
        #expect(IPAddress("127.0.0.1")!.isLoopback)
        #expect(IPAddress("127.1.2.3")!.isLoopback)
        #expect(IPAddress("::1")!.isLoopback)
        #expect(IPAddress("[::1]")!.isLoopback)
        #expect(IPAddress("::ffff:127.0.0.1")!.isLoopback)
        #expect(!IPAddress("128.0.0.1")!.isLoopback)
        #expect(!IPAddress("::2")!.isLoopback)
        #expect(IPAddress("localhost") == nil)
        #expect(IPAddress("fe80::1%eth0")?.description == "fe80::1")
        #expect(try CIDR(parsing: "fd7a:115c:a1e0::/48").description == "fd7a:115c:a1e0::/48")
    }

    /// A resolver that fails the test if it is asked: literal addresses must never be resolved.
    static let noResolve: TransportPolicy.Resolver = { host in Issue.record("resolved \(host)"); return nil }

    func url(_ s: String) -> URL { URL(string: s)! }

    @Test func plainHTTPOnlyToLoopbackOrTrusted() throws {
        let strict = TransportPolicy()
        #expect(try strict.check(url("http://127.0.0.1:8080"), resolve: Self.noResolve) == .loopback)
        #expect(try strict.check(url("http://[::1]:8080"), resolve: Self.noResolve) == .loopback)
        #expect(try strict.check(url("http://localhost:8080"), resolve: Self.noResolve) == .loopback)
        #expect(try strict.check(url("https://192.0.2.1"), resolve: Self.noResolve) == .tls)
        #expect(try strict.check(url("https://coord.example.org"), resolve: Self.noResolve) == .tls)
        #expect(throws: TransportPolicy.Refusal.self) { try strict.check(url("http://192.0.2.1:8080"), resolve: Self.noResolve) }
        #expect(throws: TransportPolicy.Refusal.self) { try strict.check(url("http://[2001:db8::5]:8080"), resolve: Self.noResolve) }
        #expect(throws: TransportPolicy.Refusal.self) { try strict.check(url("ftp://127.0.0.1/"), resolve: Self.noResolve) }

        let tailnet = TransportPolicy(trusted: [try CIDR(parsing: "100.64.0.0/10"), try CIDR(parsing: "fd7a:115c:a1e0::/48")])
        #expect(try tailnet.check(url("http://100.101.102.103:8080"), resolve: Self.noResolve)
                == .trusted(IPAddress("100.101.102.103")!, try CIDR(parsing: "100.64.0.0/10")))
        #expect(try tailnet.check(url("http://[fd7a:115c:a1e0::9]:8080"), resolve: Self.noResolve) != .insecure)
        #expect(throws: TransportPolicy.Refusal.self) { try tailnet.check(url("http://192.0.2.1:8080"), resolve: Self.noResolve) }

        let insecure = TransportPolicy(insecure: true)
        #expect(try insecure.check(url("http://192.0.2.1:8080"), resolve: Self.noResolve) == .insecure)
        #expect(try insecure.check(url("http://127.0.0.1:8080"), resolve: Self.noResolve) == .loopback)
    }

    @Test func theRefusalSaysWhyAndWhatToDo() {
        do {
            _ = try TransportPolicy(trusted: [try CIDR(parsing: "100.64.0.0/10")]).check(url("http://192.0.2.1:8080"), resolve: Self.noResolve)
            Issue.record("not refused")
        } catch {
            let m = "\(error)"
            for part in ["in clear", "192.0.2.1", "neither loopback nor in a trusted network", "100.64.0.0/10", "https://", "--trusted-network", "--insecure", "docs/operations.md"] {
                #expect(m.contains(part), "message lacks '\(part)': \(m)")
            }
        }
    }

    @Test func hostNamesPassOnlyWhenEveryAddressIsLoopbackOrTrusted() throws {
        let p = TransportPolicy(trusted: [try CIDR(parsing: "100.64.0.0/10")])
        let table: [String: [IPAddress]] = [
            "me.internal": [IPAddress("127.0.1.1")!],
            "coord.tailnet.ts.net": [IPAddress("100.70.1.2")!],
            "split.example": [IPAddress("100.70.1.2")!, IPAddress("192.0.2.4")!],
        ]
        let fake: TransportPolicy.Resolver = { table[$0] }
        #expect(try p.check(url("http://me.internal:8080"), resolve: fake) == .loopback)
        #expect(try p.check(url("http://coord.tailnet.ts.net:8080"), resolve: fake) == .trusted(IPAddress("100.70.1.2")!, try CIDR(parsing: "100.64.0.0/10")))
        do { _ = try p.check(url("http://split.example:8080"), resolve: fake); Issue.record("not refused") } catch {
            #expect("\(error)".contains("split.example resolves to 192.0.2.4"))
        }
        do { _ = try p.check(url("http://nowhere.invalid:8080"), resolve: fake); Issue.record("not refused") } catch {
            #expect("\(error)".contains("does not resolve"))
        }
    }
}
