import Foundation

// Shared pieces for reading deborgen's JSON files with `JSONDecoder` (workloads, experiment
// files, traces): refusing unknown fields, naming a field from its coding path, and integer
// fields that say which field a fraction was given for.

/// A coding key for any name or index: lists an object's keys.
public struct AnyCodingKey: CodingKey, Sendable {
    public var stringValue: String
    public var intValue: Int?
    public init(_ name: String) { stringValue = name; intValue = nil }
    public init(stringValue: String) { self.init(stringValue) }
    public init(intValue: Int) { stringValue = "Index \(intValue)"; self.intValue = intValue }
}

/// A JSON object whose fields are listed, so that unknown ones (typos) can be refused.
public protocol KnownFields: Decodable {
    /// The accepted field names, in the order messages list them.
    static var fields: [String] { get }
    /// Whether an unknown field fails the decoding at once (the default), or is kept in
    /// `Strict.unknownField` for the reader to refuse when it comes to the object, so that a
    /// file's errors are named in the order the reader checks them.
    static var refusesUnknownFieldsAtOnce: Bool { get }
}

extension KnownFields {
    public static var refusesUnknownFieldsAtOnce: Bool { true }
}

/// A field its object does not accept.
public struct UnknownFieldError: Error, Sendable {
    /// The field's path, e.g. `jobs[0].cpu`.
    public var field: String
    /// What the object accepts (`KnownFields.fields`).
    public var accepted: [String]
}

/// `T`, decoded after looking for a field that `T.fields` does not list (the first such, in
/// sorted order, is named): refused at once, or kept in `unknownField` (see
/// `KnownFields.refusesUnknownFieldsAtOnce`). Reads as `T` (`node.cpus`).
@dynamicMemberLookup
public struct Strict<T: KnownFields>: Decodable {
    public var value: T
    public var unknownField: UnknownFieldError?

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        if let k = c.allKeys.map(\.stringValue).sorted().first(where: { !T.fields.contains($0) }) {
            unknownField = UnknownFieldError(field: fieldPath(decoder.codingPath + [AnyCodingKey(k)]), accepted: T.fields)
            if T.refusesUnknownFieldsAtOnce, let unknownField { throw unknownField }
        }
        value = try T(from: decoder)
    }

    public subscript<V>(dynamicMember path: KeyPath<T, V>) -> V { value[keyPath: path] }
}

/// A coding path as a field name: `clusters[0].nodes[2].cpus`.
public func fieldPath(_ path: [CodingKey]) -> String {
    var s = ""
    for k in path {
        if let i = k.intValue {
            s += "[\(i)]"
        } else {
            if !s.isEmpty { s += "." }
            s += k.stringValue
        }
    }
    return s
}

/// What decoding an integer field gave.
enum WholeDecoding<T> {
    case value(T)
    /// A number that is not a whole number in range (2.5, 1e30); nil beyond a `Double`.
    case notWhole(Double?)
}

/// Decodes an integer with `int`. Foundation's `JSONDecoder` reports a number that does not fit
/// the integer type (2.5, 1e30) as invalid JSON, naming no field; this catches that (any error
/// that is not a `DecodingError`) so the caller can name the field and the number, read again
/// with `double`. `DecodingError`s (a string, a boolean, null, a missing key) pass through.
func decodeWhole<T>(_ int: () throws -> T, double: () throws -> Double) throws -> WholeDecoding<T> {
    do {
        return .value(try int())
    } catch let e as DecodingError {
        throw e
    } catch {
        do { return .notWhole(try double()) } catch { return .notWhole(nil) }
    }
}

/// A whole-number field of a JSON file (`cpus`, `count`): a fraction or a number beyond `Int`
/// is an error naming the field.
public struct WholeNumber: Decodable, Sendable, Hashable {
    public var value: Int

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        switch try decodeWhole({ try c.decode(Int.self) }, double: { try c.decode(Double.self) }) {
        case .value(let v): value = v
        case .notWhole(let x):
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "\(x.map { "\($0)" } ?? "the number") is not a whole number in range"))
        }
    }
}

extension DecodingError {
    /// The error as a message naming the field: `missing field 'jobs[0].cpus'`.
    var fieldMessage: String {
        switch self {
        case .keyNotFound(let k, let c): return "missing field '\(fieldPath(c.codingPath + [k]))'"
        case .typeMismatch(let t, let c): return "field '\(fieldPath(c.codingPath))' should be \(t)"
        case .valueNotFound(let t, let c): return "field '\(fieldPath(c.codingPath))' is null; expected \(t)"
        case .dataCorrupted(let c): return "field '\(fieldPath(c.codingPath))': \(c.debugDescription)"
        @unknown default: return "\(self)"
        }
    }

    /// The coding path the error is at; empty for the document itself (not JSON, or not the
    /// expected kind of value at the top).
    public var errorPath: [CodingKey] {
        switch self {
        case .keyNotFound(let k, let c): return c.codingPath + [k]
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): return c.codingPath
        @unknown default: return []
        }
    }
}
