import Policies
import Foundation

/// A JSON value. Objects keep their key order, so responses and stored rows are stable.
/// Parsing goes through Foundation's `JSONDecoder` (strict RFC 8259); rendering is ours.
public indirect enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool { a.text == b.text }

    /// Parses UTF-8 bytes. Errors are `invalid_json` API errors.
    public static func parse(_ data: Data) throws -> JSON {
        do {
            return try JSONDecoder().decode(Decoded.self, from: data).value
        } catch {
            var msg = "request body is not valid JSON"
            if case DecodingError.dataCorrupted(let c) = error, let u = c.underlyingError {
                msg += ": \((u as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(u)")"
            }
            throw APIError(400, "invalid_json", msg)
        }
    }

    public static func parse(_ text: String) throws -> JSON { try parse(Data(text.utf8)) }

    public subscript(key: String) -> JSON? {
        if case .object(let kv) = self { return kv.first { $0.0 == key }?.1 }
        return nil
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The rendered UTF-8 bytes (what a response body or a stored row holds).
    public var bytes: [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(512)
        render(into: &b)
        return b
    }

    /// Renders into UTF-8 bytes: appending bytes costs a fraction of appending small strings.
    public func render(into b: inout [UInt8]) {
        switch self {
        case .null: b.append(contentsOf: "null".utf8)
        case .bool(let v): b.append(contentsOf: (v ? "true" : "false").utf8)
        case .int(let i): b.append(contentsOf: String(i).utf8)
        case .double(let d): b.append(contentsOf: (d.isFinite ? "\(d)" : "null").utf8)
        case .string(let t): appendJSONString(t, to: &b)
        case .array(let a):
            b.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { b.append(UInt8(ascii: ",")) }
                v.render(into: &b)
            }
            b.append(UInt8(ascii: "]"))
        case .object(let kv):
            b.append(UInt8(ascii: "{"))
            for (i, (k, v)) in kv.enumerated() {
                if i > 0 { b.append(UInt8(ascii: ",")) }
                appendJSONString(k, to: &b)
                b.append(UInt8(ascii: ":"))
                v.render(into: &b)
            }
            b.append(UInt8(ascii: "}"))
        }
    }

    public static func of(_ v: String?) -> JSON { v.map { .string($0) } ?? .null }
    public static func of(_ v: Int?) -> JSON { v.map { .int($0) } ?? .null }
    public static func of(_ v: Double?) -> JSON { v.map { .double($0) } ?? .null }
    public static func strings(_ v: [String]) -> JSON { .array(v.map { .string($0) }) }
    public static func ints(_ v: [Int]) -> JSON { .array(v.map { .int($0) }) }
}


private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

private struct Decoded: Decodable {
    var value: JSON
    init(from decoder: any Decoder) throws {
        if let c = try? decoder.container(keyedBy: AnyKey.self) {
            var kv: [(String, JSON)] = []
            for k in c.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                kv.append((k.stringValue, try c.decode(Decoded.self, forKey: k).value))
            }
            value = .object(kv)
            return
        }
        if var a = try? decoder.unkeyedContainer() {
            var out: [JSON] = []
            while !a.isAtEnd { out.append(try a.decode(Decoded.self).value) }
            value = .array(out)
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { value = .null }
        else if let b = try? c.decode(Bool.self) { value = .bool(b) }
        else if let i = try? c.decode(Int.self) { value = .int(i) }
        else if let d = try? c.decode(Double.self) { value = .double(d) }
        else { value = .string(try c.decode(String.self)) }
    }
}

/// Reads the fields of a JSON object with their path for error messages, and refuses unknown
/// fields once done (`finish`).
public struct FieldReader {
    let fields: [(String, JSON)]
    let prefix: String
    var used: Set<String> = []

    public init(_ value: JSON, path: String = "") throws {
        guard case .object(let kv) = value else {
            throw APIError.invalid(path.isEmpty ? "body" : path, "\(path.isEmpty ? "the request body" : path) must be a JSON object")
        }
        fields = kv
        prefix = path.isEmpty ? "" : path + "."
    }

    func path(_ k: String) -> String { prefix + k }

    /// The value of `key`, with JSON null treated as absent.
    mutating func raw(_ key: String) -> JSON? {
        used.insert(key)
        guard let v = fields.first(where: { $0.0 == key })?.1 else { return nil }
        if case .null = v { return nil }
        return v
    }

    public mutating func string(_ key: String, maxLength: Int = 4096) throws -> String? {
        guard let v = raw(key) else { return nil }
        guard case .string(let s) = v else { throw APIError.invalid(path(key), "\(path(key)) must be a string") }
        guard s.utf8.count <= maxLength else { throw APIError.invalid(path(key), "\(path(key)) is longer than \(maxLength) bytes") }
        guard !s.unicodeScalars.contains("\0") else { throw APIError.invalid(path(key), "\(path(key)) contains a NUL character") }
        return s
    }

    public mutating func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let v = raw(key) else { return nil }
        let i: Int
        switch v {
        case .int(let x): i = x
        case .double(let d) where d.rounded() == d && abs(d) < 1e15: i = Int(d)
        default: throw APIError.invalid(path(key), "\(path(key)) must be an integer")
        }
        guard range.contains(i) else {
            throw APIError.invalid(path(key), "\(path(key)) must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return i
    }

    public mutating func double(_ key: String, min: Double = 0) throws -> Double? {
        guard let v = raw(key) else { return nil }
        let d: Double
        switch v {
        case .int(let x): d = Double(x)
        case .double(let x): d = x
        default: throw APIError.invalid(path(key), "\(path(key)) must be a number")
        }
        guard d.isFinite, d >= min else { throw APIError.invalid(path(key), "\(path(key)) must be a number ≥ \(min)") }
        return d
    }

    public mutating func bool(_ key: String) throws -> Bool? {
        guard let v = raw(key) else { return nil }
        guard case .bool(let b) = v else { throw APIError.invalid(path(key), "\(path(key)) must be true or false") }
        return b
    }

    public mutating func strings(_ key: String, maxCount: Int = 1000, maxLength: Int = 4096) throws -> [String]? {
        guard let v = raw(key) else { return nil }
        guard case .array(let a) = v else { throw APIError.invalid(path(key), "\(path(key)) must be an array of strings") }
        guard a.count <= maxCount else { throw APIError.invalid(path(key), "\(path(key)) has more than \(maxCount) entries") }
        return try a.enumerated().map { i, e in
            guard case .string(let s) = e, s.utf8.count <= maxLength, !s.unicodeScalars.contains("\0") else {
                throw APIError.invalid("\(path(key))[\(i)]", "\(path(key))[\(i)] must be a string of at most \(maxLength) bytes without NUL")
            }
            return s
        }
    }

    public mutating func ints(_ key: String, in range: ClosedRange<Int>, maxCount: Int = 1000) throws -> [Int]? {
        guard let v = raw(key) else { return nil }
        guard case .array(let a) = v else { throw APIError.invalid(path(key), "\(path(key)) must be an array of integers") }
        guard a.count <= maxCount else { throw APIError.invalid(path(key), "\(path(key)) has more than \(maxCount) entries") }
        return try a.enumerated().map { i, e in
            guard case .int(let x) = e, range.contains(x) else {
                throw APIError.invalid("\(path(key))[\(i)]", "\(path(key))[\(i)] must be an integer between \(range.lowerBound) and \(range.upperBound)")
            }
            return x
        }
    }

    public mutating func stringMap(_ key: String, maxCount: Int = 1000) throws -> [String: String]? {
        guard let v = raw(key) else { return nil }
        guard case .object(let kv) = v else { throw APIError.invalid(path(key), "\(path(key)) must be an object of strings") }
        guard kv.count <= maxCount else { throw APIError.invalid(path(key), "\(path(key)) has more than \(maxCount) entries") }
        var out: [String: String] = [:]
        for (k, e) in kv {
            guard case .string(let s) = e, !s.unicodeScalars.contains("\0") else {
                throw APIError.invalid("\(path(key)).\(k)", "\(path(key)).\(k) must be a string without NUL")
            }
            out[k] = s
        }
        return out
    }

    public mutating func object(_ key: String) throws -> FieldReader? {
        guard let v = raw(key) else { return nil }
        return try FieldReader(v, path: path(key))
    }

    /// Throws `unknown_field` for the first field that was never read.
    public func finish() throws {
        for (k, _) in fields where !used.contains(k) { throw APIError.unknownField(path(k)) }
    }
}
