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

    public static func sha256Hex(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
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
    func hex() -> String { h.finalize().map { String(format: "%02x", $0) }.joined() }
}
