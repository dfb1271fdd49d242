import Crypto
import Foundation

/// Bearer tokens: random, shown once, stored as SHA-256 hex.
public enum Tokens {
    /// `dbg_` and 43 base64url characters (32 bytes from the system CSPRNG).
    public static func generate() -> String {
        var g = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        let b64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "dbg_" + b64
    }

    public static func hash(_ token: String) -> String { sha256Hex(Data(token.utf8)) }

    public static func sha256Hex(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    /// Lower-case hex of a digest. (Every request hashes its token: `String(format:)` per byte
    /// was a tenth of the coordinator's CPU in `bench coordinator`.)
    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Creates a token in the database under `dir` and returns it (the only time it is seen).
    public static func create(dataDir dir: String, name: String, role: Role, now: Int64) throws -> String {
        let store = try Store(directory: dir)
        defer { store.close() }
        let t = generate()
        try store.createToken(name: name, role: role, hash: hash(t), now: now)
        return t
    }
}

/// Incremental SHA-256 of an upload.
struct StreamingSHA256 {
    var h = SHA256()
    mutating func update(_ bytes: UnsafeRawBufferPointer) { h.update(bufferPointer: bytes) }
    func hex() -> String { Tokens.hex(h.finalize()) }
}
