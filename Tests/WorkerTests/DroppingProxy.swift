import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A one-request-per-connection HTTP proxy on 127.0.0.1 that forwards every request to the
/// coordinator and, for the first `dropAnswers` `POST /v1/jobs`, reads the coordinator's whole
/// answer (so the job is committed) and then closes the client's connection without relaying it:
/// the submitter sees a dropped connection and cannot know its job exists.
final class DroppingProxy: @unchecked Sendable {
    let upstreamPort: UInt16
    private(set) var port: UInt16 = 0
    private let lock = NSLock()
    private var toDrop: Int
    private var droppedCount = 0
    private var forwardedCount = 0
    private var listener: Int32 = -1

    var dropped: Int { lock.withLock { droppedCount } }
    var forwarded: Int { lock.withLock { forwardedCount } }

    init(upstreamPort: Int, dropAnswers: Int) throws {
        self.upstreamPort = UInt16(upstreamPort)
        toDrop = dropAnswers
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw ClusterError("socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = Self.loopback(port: 0)
        let b = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard b == 0, listen(listener, 64) == 0 else { throw ClusterError("bind/listen on 127.0.0.1: \(errno)") }
        var got = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &got) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        port = UInt16(bigEndian: got.sin_port)
        let fd = listener
        let t = Thread { [weak self] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { if errno == EINTR { continue }; return }
                guard let self else { close(c); return }
                Thread { self.serve(c) }.start()
            }
        }
        t.start()
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return a
    }

    /// Reads one HTTP message (headers, then a Content-Length body) from `fd`.
    static func readMessage(_ fd: Int32) -> Data? {
        var buf = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        var total: Int?
        while true {
            if let he = headerEnd, let t = total, buf.count >= he + t { return buf }
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { return buf.isEmpty ? nil : buf }
            buf.append(contentsOf: chunk[0..<n])
            if headerEnd == nil, let r = buf.range(of: Data("\r\n\r\n".utf8)) {
                headerEnd = r.upperBound
                let head = String(decoding: buf[..<r.lowerBound], as: UTF8.self).lowercased()
                total = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            }
        }
    }

    static func writeAll(_ fd: Int32, _ d: Data) {
        d.withUnsafeBytes { p in
            var off = 0
            while off < p.count {
                let n = write(fd, p.baseAddress! + off, p.count - off)
                if n <= 0 { return }
                off += n
            }
        }
    }

    func serve(_ client: Int32) {
        defer { close(client) }
        guard let req = Self.readMessage(client) else { return }
        let up = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(up) }
        var addr = Self.loopback(port: upstreamPort)
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(up, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { return }
        Self.writeAll(up, req)
        guard let resp = Self.readMessage(up) else { return }
        let isSubmit = String(decoding: req.prefix(20), as: UTF8.self).hasPrefix("POST /v1/jobs ")
        let drop: Bool = lock.withLock {
            if isSubmit && toDrop > 0 { toDrop -= 1; droppedCount += 1; return true }
            forwardedCount += 1
            return false
        }
        if drop { return }
        Self.writeAll(client, resp)
    }
}
