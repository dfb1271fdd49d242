import Foundation
import Policies
import Testing
@testable import API

/// The byte-level JSON writers (the trace writer's strings, the API's `WireEncoder`) and the
/// timestamp writer against the plain definitions: the same output for every input, escapes,
/// multi-byte text and the calendar's edges included.
@Suite struct RenderingTests {
    /// RFC 8259 escaping, scalar by scalar: the definition the byte writer must match.
    static func referenceQuoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    static func referenceTimestamp(_ us: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        var secs = us / 1_000_000, micros = us % 1_000_000
        if micros < 0 { micros += 1_000_000; secs -= 1 }
        return f.string(from: Date(timeIntervalSince1970: Double(secs))) + "." + String(format: "%06lld", micros) + "Z"
    }

    @Test func stringsEscapeAsTheDefinitionSays() {
        var rng = SplitMix64(seed: 11)
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1}", "\u{1f}", "\u{7f}",
                                     "é", "€", "😀", "/", "'", "<"]
        var cases = ["", "plain", "\"", "\\", "\u{0}", "tab\tend", "ünïcødé \u{1b}[0m"]
        for _ in 0..<2000 {
            let n = Int(rng.next() % 24)
            cases.append(String((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }))
        }
        for s in cases {
            let want = Self.referenceQuoted(s)
            #expect(jsonString(s) == want, "jsonString(\(want))")
            var bytes: [UInt8] = Array("x".utf8)
            appendJSONString(s, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == "x" + want)
        }
    }

    /// Every kind of value the API writes, in a declared key order.
    struct Sample: Encodable {
        struct Inner: Encodable { var k = ["x", "y"] }
        var s = "a\"b\\c\n\u{1}é😀"
        var n: Int? = nil
        var t = true
        var f = false
        var i = -42
        var d = 0.25
        var whole = 30.0
        var inf = Double.infinity
        var a: [[Int]] = [[1], []]
        var o = Inner()
        var env = ["b": "2", "a": "1", "C": "0"]
        var big: Int64 = 1 << 40
    }

    @Test func wireValuesAreValidJSONInDeclaredOrder() throws {
        let text = try WireEncoder().encodeString(Sample())
        #expect(text == #"{"s":"a\"b\\c\n\u0001é😀","n":null,"t":true,"f":false,"i":-42,"d":0.25,"whole":30.0,"inf":null,"a":[[1],[]],"o":{"k":["x","y"]},"env":{"C":"0","a":"1","b":"2"},"big":1099511627776}"#)
        let back = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(back["s"] as? String == "a\"b\\c\n\u{1}é😀")
        #expect((back["o"] as? [String: Any])?["k"] as? [String] == ["x", "y"])
        #expect(back.count == 12)
    }

    @Test func wireTypesRoundTripThroughTheClientsDecoder() throws {
        var j = V1.Job(id: 7, user: "alice", state: "queued", spec: V1.JobSubmission(command: ["sh", "-c", "echo \"hi\""]))
        j.env = ["Z": "1", "A": "2"]
        j.pendingReason = V1.PendingReason(code: "assigned", message: "offered")
        j.listsAttempts = true
        j.attempts = [V1.Attempt(id: "a-7-1", number: 1, nodeID: 3, state: "running", startedAt: Timestamp.format(1), endedAt: nil,
                                 leaseExpiresAt: Timestamp.format(2), exitCode: nil, wallS: 1.5, cpuS: nil, maxRssKB: nil)]
        let bytes = try WireEncoder().encode(j)
        let back = try JSONDecoder().decode(V1.Job.self, from: Data(bytes))
        #expect(back == j)
        #expect(try WireEncoder().encode(back) == bytes)
        // A list leaves attempts out; the decoder reads that as nil.
        j.listsAttempts = false
        j.attempts = []
        let listed = try WireEncoder().encodeString(j)
        #expect(!listed.contains("\"attempts\"") && listed.hasSuffix(#""attempt_count":null}"#))
        #expect(try JSONDecoder().decode(V1.Job.self, from: Data(listed.utf8)).listsAttempts == false)
    }

    @Test func timestampsMatchTheCalendar() {
        var rng = SplitMix64(seed: 5)
        // 1970 to 9999, microseconds, both sides of leap days and years.
        var cases: [Int64] = [0, 1, 999_999, 951_782_400_000_000, 951_868_799_999_999, 4_107_542_400_000_000, 253_402_300_799_999_999]
        for _ in 0..<3000 { cases.append(Int64(rng.next() % 253_402_300_800_000_000)) }
        for us in cases { #expect(Timestamp.format(us) == Self.referenceTimestamp(us), "\(us)") }
        // Outside four-digit years the slow path still answers.
        #expect(Timestamp.format(253_402_300_800_000_000) == "10000-01-01T00:00:00.000000Z")
    }
}
