import Foundation

/// A JSON object key by name.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Reads a request object strictly, for the `init(from:)` of the API's request types: each field
/// by name, with its path in the error (`resources.cpus`, `labels[2]`); a JSON null is an absent
/// field; once done, `finish` refuses the first field (by name) that was never read. Every
/// refusal is an `APIError` (400 `invalid_field` or `unknown_field`) naming the field.
public struct FieldReader {
    let c: KeyedDecodingContainer<AnyKey>
    let prefix: String
    var used: Set<String> = []

    /// The object `decoder` holds; `path` names it in errors (empty: the request body).
    public init(_ decoder: any Decoder, path: String = "") throws {
        do { c = try decoder.container(keyedBy: AnyKey.self) } catch {
            throw Self.notObject(path)
        }
        prefix = path.isEmpty ? "" : path + "."
    }

    init(_ c: KeyedDecodingContainer<AnyKey>, path: String) {
        self.c = c
        prefix = path + "."
    }

    static func notObject(_ path: String) -> APIError {
        APIError.invalid(path.isEmpty ? "body" : path, "\(path.isEmpty ? "the request body" : path) must be a JSON object")
    }

    func path(_ k: String) -> String { prefix + k }

    /// The key of a present, non-null field.
    mutating func present(_ key: String) -> AnyKey? {
        used.insert(key)
        let k = AnyKey(key)
        guard c.contains(k) else { return nil }
        if (try? c.decodeNil(forKey: k)) == true { return nil }
        return k
    }

    func bad(_ key: String, _ what: String) -> APIError { APIError.invalid(path(key), "\(path(key)) \(what)") }

    public mutating func string(_ key: String, maxLength: Int = 4096) throws -> String? {
        guard let k = present(key) else { return nil }
        guard let s = try? c.decode(String.self, forKey: k) else { throw bad(key, "must be a string") }
        guard s.utf8.count <= maxLength else { throw bad(key, "is longer than \(maxLength) bytes") }
        guard !s.unicodeScalars.contains("\0") else { throw bad(key, "contains a NUL character") }
        return s
    }

    /// An integer: a JSON number with no fraction (`5`, `5.0`, `1e3`), within `range`.
    public mutating func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let k = present(key) else { return nil }
        guard let i = Self.integer(try? c.decode(Int.self, forKey: k), try? c.decode(Double.self, forKey: k)) else {
            throw bad(key, "must be an integer")
        }
        guard range.contains(i) else { throw bad(key, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return i
    }

    static func integer(_ i: Int?, _ d: Double?) -> Int? {
        if let i { return i }
        if let d, d.rounded() == d, abs(d) < 1e15 { return Int(d) }
        return nil
    }

    public mutating func double(_ key: String, min: Double = 0) throws -> Double? {
        guard let k = present(key) else { return nil }
        guard let d = try? c.decode(Double.self, forKey: k) else { throw bad(key, "must be a number") }
        guard d.isFinite, d >= min else { throw bad(key, "must be a number ≥ \(min)") }
        return d
    }

    public mutating func bool(_ key: String) throws -> Bool? {
        guard let k = present(key) else { return nil }
        guard let b = try? c.decode(Bool.self, forKey: k) else { throw bad(key, "must be true or false") }
        return b
    }

    /// The elements of an array field, each read by `element` (which is given its path).
    mutating func array<T>(_ key: String, what: String, maxCount: Int,
                           _ element: (inout any UnkeyedDecodingContainer, String) throws -> T) throws -> [T]? {
        guard let k = present(key) else { return nil }
        guard var a = try? c.nestedUnkeyedContainer(forKey: k) else { throw bad(key, "must be an array of \(what)") }
        guard (a.count ?? 0) <= maxCount else { throw bad(key, "has more than \(maxCount) entries") }
        var out: [T] = []
        while !a.isAtEnd { out.append(try element(&a, "\(path(key))[\(a.currentIndex)]")) }
        return out
    }

    public mutating func strings(_ key: String, maxCount: Int = 1000, maxLength: Int = 4096) throws -> [String]? {
        try array(key, what: "strings", maxCount: maxCount) { a, p in
            guard let s = try? a.decode(String.self), s.utf8.count <= maxLength, !s.unicodeScalars.contains("\0") else {
                throw APIError.invalid(p, "\(p) must be a string of at most \(maxLength) bytes without NUL")
            }
            return s
        }
    }

    public mutating func ints(_ key: String, in range: ClosedRange<Int>, maxCount: Int = 1000) throws -> [Int]? {
        try array(key, what: "integers", maxCount: maxCount) { a, p in
            guard let x = try? a.decode(Int.self), range.contains(x) else {
                throw APIError.invalid(p, "\(p) must be an integer between \(range.lowerBound) and \(range.upperBound)")
            }
            return x
        }
    }

    public mutating func stringMap(_ key: String, maxCount: Int = 1000) throws -> [String: String]? {
        guard let k = present(key) else { return nil }
        guard let o = try? c.nestedContainer(keyedBy: AnyKey.self, forKey: k) else { throw bad(key, "must be an object of strings") }
        guard o.allKeys.count <= maxCount else { throw bad(key, "has more than \(maxCount) entries") }
        var out: [String: String] = [:]
        for e in o.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
            guard let s = try? o.decode(String.self, forKey: e), !s.unicodeScalars.contains("\0") else {
                throw APIError.invalid("\(path(key)).\(e.stringValue)", "\(path(key)).\(e.stringValue) must be a string without NUL")
            }
            out[e.stringValue] = s
        }
        return out
    }

    public mutating func object(_ key: String) throws -> FieldReader? {
        guard let k = present(key) else { return nil }
        guard let o = try? c.nestedContainer(keyedBy: AnyKey.self, forKey: k) else { throw Self.notObject(path(key)) }
        return FieldReader(o, path: path(key))
    }

    /// Throws `unknown_field` for the first field (by name) that was never read.
    public func finish() throws {
        if let k = c.allKeys.map(\.stringValue).filter({ !used.contains($0) }).min() { throw APIError.unknownField(path(k)) }
    }
}

/// Decodes a request body strictly: malformed JSON is `invalid_json`, anything the type refuses
/// an `APIError` naming the field.
public func decodeRequest<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch let e as APIError {
        throw e
    } catch {
        var msg = "request body is not valid JSON"
        if case DecodingError.dataCorrupted(let c) = error, let u = c.underlyingError {
            msg += ": \((u as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(u)")"
        }
        throw APIError(400, "invalid_json", msg)
    }
}
