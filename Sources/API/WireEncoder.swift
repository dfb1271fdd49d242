import Foundation
import Policies

/// The API's JSON writer: a `Codable` encoder that writes UTF-8 bytes as it goes, keeping an
/// object's keys in the order its `encode(to:)` writes them (docs/api.md shows responses in that
/// order; Foundation's `JSONEncoder` on Linux writes keys in hash order, or sorted). Dictionaries
/// (`[String: String]`, a job's `env`) are written with sorted keys so equal values give equal bytes.
/// A `nil` is written as `null`, by `encode` and `encodeIfPresent` alike (so synthesized
/// conformances show every field); to leave a key out, an `encode(to:)` does not write it. Strings are
/// escaped as the trace writer escapes them (`appendJSONString`); a `Double` is written as Swift
/// prints it (`30.0`, `1.5`), and a non-finite one as `null`.
///
/// It writes in one pass: a container is closed when its encoding returns, or when its parent
/// writes again. That is how every `encode(to:)` in this project (and every synthesized one)
/// uses containers; one that keeps a container open after writing to its parent is not supported.
public struct WireEncoder: Sendable {
    public init() {}

    /// The bytes of `value`, without a trailing newline.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let w = WireWriter()
        try w.write(value)
        return w.out
    }

    public func encodeData<T: Encodable>(_ value: T) throws -> Data { Data(try encode(value)) }

    public func encodeString<T: Encodable>(_ value: T) throws -> String { String(decoding: try encode(value), as: UTF8.self) }
}

/// The output and the stack of open containers.
private final class WireWriter {
    var out: [UInt8] = []
    /// Open containers, innermost last: their closing byte and whether they hold an element yet.
    var open: [(close: UInt8, empty: Bool)] = []

    init() { out.reserveCapacity(512) }

    /// Writes one value: scalars, their optionals and arrays directly (recognized by their type,
    /// which costs a comparison, not a dynamic cast), dictionaries sorted, anything else through
    /// its `encode(to:)`, closing what it opened.
    func write<T: Encodable>(_ value: T) throws {
        if T.self == String.self { return appendJSONString(unsafeBitCast(value, to: String.self), to: &out) }
        if T.self == Int.self { return writeInt(unsafeBitCast(value, to: Int.self)) }
        if T.self == Bool.self { return writeBool(unsafeBitCast(value, to: Bool.self)) }
        if T.self == Double.self { return writeDouble(unsafeBitCast(value, to: Double.self)) }
        if T.self == String?.self { return writeOptional(unsafeBitCast(value, to: String?.self)) { appendJSONString($0, to: &out) } }
        if T.self == Int?.self { return writeOptional(unsafeBitCast(value, to: Int?.self), writeInt) }
        if T.self == Double?.self { return writeOptional(unsafeBitCast(value, to: Double?.self), writeDouble) }
        if T.self == Bool?.self { return writeOptional(unsafeBitCast(value, to: Bool?.self), writeBool) }
        if T.self == [String].self { return writeArray(unsafeBitCast(value, to: [String].self)) { appendJSONString($0, to: &out) } }
        if T.self == [Int].self { return writeArray(unsafeBitCast(value, to: [Int].self), writeInt) }
        if T.self == [String: String].self { return try writeSorted(unsafeBitCast(value, to: [String: String].self)) }
        if T.self == [String: Int].self { return try writeSorted(unsafeBitCast(value, to: [String: Int].self)) }
        let depth = open.count
        let before = out.count
        try value.encode(to: WireValueEncoder(writer: self, depth: depth))
        close(to: depth)
        if out.count == before { out.append(contentsOf: "{}".utf8) }
    }

    func writeInt(_ i: Int) { out.append(contentsOf: String(i).utf8) }

    func writeInteger<I: BinaryInteger>(_ i: I) { out.append(contentsOf: String(i).utf8) }

    func writeBool(_ b: Bool) { out.append(contentsOf: (b ? "true" : "false").utf8) }

    func writeOptional<V>(_ v: V?, _ write: (V) -> Void) {
        if let v { write(v) } else { writeNull() }
    }

    func writeArray<V>(_ a: [V], _ write: (V) -> Void) {
        out.append(UInt8(ascii: "["))
        for (i, v) in a.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            write(v)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// A dictionary with its keys sorted, so that equal values give equal bytes. (Only string
    /// keys with string or integer values are written so; the API has no other dictionaries.)
    func writeSorted<V: Encodable>(_ d: [String: V]) throws {
        out.append(UInt8(ascii: "{"))
        for (i, k) in d.keys.sorted().enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendJSONString(k, to: &out)
            out.append(UInt8(ascii: ":"))
            try write(d[k]!)
        }
        out.append(UInt8(ascii: "}"))
    }

    func writeDouble(_ d: Double) {
        out.append(contentsOf: (d.isFinite ? "\(d)" : "null").utf8)
    }

    func writeNull() { out.append(contentsOf: "null".utf8) }

    /// Closes every container deeper than `depth`.
    func close(to depth: Int) {
        while open.count > depth { out.append(open.removeLast().close) }
    }

    /// Opens a container at `depth` (a second request at the same depth reuses the open one).
    func begin(_ openByte: UInt8, _ closeByte: UInt8, depth: Int) {
        close(to: depth + 1)
        if open.count == depth + 1 { return }
        out.append(openByte)
        open.append((closeByte, true))
    }

    /// Starts an element of the container at `depth`: closes deeper ones, writes the comma.
    func element(depth: Int) {
        close(to: depth + 1)
        if open[depth].empty { open[depth].empty = false } else { out.append(UInt8(ascii: ",")) }
    }

    func key(_ k: String, depth: Int) {
        element(depth: depth)
        appendJSONString(k, to: &out)
        out.append(UInt8(ascii: ":"))
    }
}

private struct WireValueEncoder: Encoder, SingleValueEncodingContainer {
    let writer: WireWriter
    let depth: Int
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        writer.begin(UInt8(ascii: "{"), UInt8(ascii: "}"), depth: depth)
        return KeyedEncodingContainer(WireKeyed<Key>(writer: writer, depth: depth))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        writer.begin(UInt8(ascii: "["), UInt8(ascii: "]"), depth: depth)
        return WireUnkeyed(writer: writer, depth: depth)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    mutating func encodeNil() throws { writer.writeNull() }
    mutating func encode<T: Encodable>(_ value: T) throws { try writer.write(value) }
    mutating func encode(_ value: Bool) throws { writer.writeBool(value) }
    mutating func encode(_ value: String) throws { appendJSONString(value, to: &writer.out) }
    mutating func encode(_ value: Double) throws { writer.writeDouble(value) }
    mutating func encode(_ value: Float) throws { writer.out.append(contentsOf: (value.isFinite ? "\(value)" : "null").utf8) }
    mutating func encode(_ value: Int) throws { writer.writeInt(value) }
    mutating func encode(_ value: Int8) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Int16) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Int32) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Int64) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt8) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt16) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt32) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt64) throws { writer.writeInteger(value) }
}

private struct WireKeyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: WireWriter
    let depth: Int
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws {
        writer.key(key.stringValue, depth: depth)
        writer.writeNull()
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        writer.key(key.stringValue, depth: depth)
        try writer.write(value)
    }

    // The scalars without the generic path (what synthesized `encode(to:)` calls for them).
    mutating func encode(_ value: String, forKey key: Key) throws {
        writer.key(key.stringValue, depth: depth)
        appendJSONString(value, to: &writer.out)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws {
        writer.key(key.stringValue, depth: depth)
        writer.writeInt(value)
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        writer.key(key.stringValue, depth: depth)
        writer.writeBool(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        writer.key(key.stringValue, depth: depth)
        writer.writeDouble(value)
    }

    // `encodeIfPresent` writes null for nil: the API shows absent values as null (docs/api.md);
    // an `encode(to:)` that means to leave a key out does not write it.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        writer.key(key.stringValue, depth: depth)
        writer.writeOptional(value, writer.writeBool)
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        writer.key(key.stringValue, depth: depth)
        if let value { appendJSONString(value, to: &writer.out) } else { writer.writeNull() }
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        writer.key(key.stringValue, depth: depth)
        writer.writeOptional(value, writer.writeDouble)
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        writer.key(key.stringValue, depth: depth)
        writer.writeOptional(value, writer.writeInt)
    }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }

    /// A value or null, without `Optional`'s own `encode(to:)` (a container box per value).
    private mutating func encodeIfPresent<T: Encodable>(_ value: T?, generic key: Key) throws {
        writer.key(key.stringValue, depth: depth)
        if let value { try writer.write(value) } else { writer.writeNull() }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        writer.key(key.stringValue, depth: depth)
        writer.begin(UInt8(ascii: "{"), UInt8(ascii: "}"), depth: depth + 1)
        return KeyedEncodingContainer(WireKeyed<NestedKey>(writer: writer, depth: depth + 1))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        writer.key(key.stringValue, depth: depth)
        writer.begin(UInt8(ascii: "["), UInt8(ascii: "]"), depth: depth + 1)
        return WireUnkeyed(writer: writer, depth: depth + 1)
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        writer.key(key.stringValue, depth: depth)
        return WireValueEncoder(writer: writer, depth: depth + 1)
    }
}

private struct WireUnkeyed: UnkeyedEncodingContainer {
    let writer: WireWriter
    let depth: Int
    var codingPath: [any CodingKey] { [] }
    var count = 0

    mutating func encodeNil() throws {
        writer.element(depth: depth)
        writer.writeNull()
        count += 1
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        writer.element(depth: depth)
        try writer.write(value)
        count += 1
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        writer.element(depth: depth)
        writer.begin(UInt8(ascii: "{"), UInt8(ascii: "}"), depth: depth + 1)
        count += 1
        return KeyedEncodingContainer(WireKeyed<NestedKey>(writer: writer, depth: depth + 1))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        writer.element(depth: depth)
        writer.begin(UInt8(ascii: "["), UInt8(ascii: "]"), depth: depth + 1)
        count += 1
        return WireUnkeyed(writer: writer, depth: depth + 1)
    }

    mutating func superEncoder() -> any Encoder {
        writer.element(depth: depth)
        count += 1
        return WireValueEncoder(writer: writer, depth: depth + 1)
    }
}
