import Foundation
import API
import Server
import Worker

/// One cycle-phase client's node, and the attempt its last chained report was handed (used by
/// that client's thread only).
final class CycleClient: @unchecked Sendable {
    let node: Int
    var next: String?
    init(node: Int) { self.node = node }
}

final class ServerBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var server: CoordinatorServer?
    private(set) var error: String?
    func set(_ s: CoordinatorServer) { lock.lock(); server = s; lock.unlock() }
    func fail(_ e: String) { lock.lock(); error = e; lock.unlock() }
}

final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var columns: [[Int64]] = []
    private(set) var drained = false
    private(set) var error: String?
    func add(_ cols: [[Int64]], drained d: Bool, error e: String?) {
        lock.lock()
        defer { lock.unlock() }
        if columns.isEmpty { columns = Array(repeating: [], count: cols.count) }
        for (k, c) in cols.enumerated() where k < columns.count { columns[k] += c }
        drained = drained || d
        if let e, error == nil { error = e }
    }
}

/// A minimal blocking HTTP/1.1 keep-alive client for loopback benchmarks (127.0.0.1 only):
/// no TLS, no redirects, Content-Length bodies.
final class LoopbackHTTP {
    let fd: Int32
    var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError.usage("socket failed") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw BenchError.usage("connect to 127.0.0.1:\(port) failed") }
    }

    deinit { close(fd) }

    struct Reply { var status: Int; var body: [UInt8]; var micros: Int64 }

    func request(_ method: String, _ path: String, token: String, body: [UInt8]) throws -> Reply {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
        if !body.isEmpty { head += "Content-Type: application/json\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        let out = Array(head.utf8) + body
        var sent = 0
        while sent < out.count {
            let n = out.withUnsafeBytes { send(fd, $0.baseAddress! + sent, out.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw BenchError.usage("send failed") }
            sent += n
        }
        // Headers.
        var headerEnd: Int?
        while headerEnd == nil {
            if let r = Self.find(buffer) { headerEnd = r; break }
            try fill()
        }
        let headText = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        let lines = headText.split(separator: "\r\n")
        let status = lines.first.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        var length = 0
        for l in lines.dropFirst() where l.lowercased().hasPrefix("content-length:") {
            length = Int(l.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
        }
        buffer.removeFirst(headerEnd! + 4)
        while buffer.count < length { try fill() }
        let b = Array(buffer[0..<length])
        buffer.removeFirst(length)
        let t1 = DispatchTime.now().uptimeNanoseconds
        return Reply(status: status, body: b, micros: Int64((t1 - t0) / 1000))
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, 65536, 0) }
        guard n > 0 else { throw BenchError.usage("connection closed") }
        buffer += chunk[0..<n]
    }

    private static func find(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }
}

final class ValueBox<T>: @unchecked Sendable {
    var value: T?
}
